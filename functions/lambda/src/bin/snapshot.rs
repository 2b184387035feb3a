//! Lambda: GET /api/realtime/calls/{call_id}/snapshot.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(env!("CARGO_BIN_NAME"), functions::routes::calls::snapshot_router).await
}
