//! Lambda: POST /api/realtime/alerts/{alert_id}/ack.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(env!("CARGO_BIN_NAME"), functions::routes::alerts::ack_router).await
}
