//! Lambda: GET /api/realtime/calls.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(env!("CARGO_BIN_NAME"), functions::routes::calls::calls_router).await
}
