//! Lambda: GET /api/realtime/alerts.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(env!("CARGO_BIN_NAME"), functions::routes::alerts::alerts_router).await
}
