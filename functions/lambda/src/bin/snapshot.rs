//! Lambda: GET /api/realtime/calls/{call_id}/snapshot.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(functions::routes::calls::snapshot_router).await
}
