//! Lambda: GET /api/calls, /api/calls/{id}[/detail|/audio|/export], /api/metrics, /api/insights.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(env!("CARGO_BIN_NAME"), functions::routes::batch::read_router).await
}
