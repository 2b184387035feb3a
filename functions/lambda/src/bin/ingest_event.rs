//! Lambda: POST /api/realtime/events.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(functions::routes::ingest::events_router).await
}
