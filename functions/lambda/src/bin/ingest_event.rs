//! Lambda: POST /api/realtime/events.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(env!("CARGO_BIN_NAME"), functions::routes::ingest::events_router).await
}
