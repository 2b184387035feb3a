//! Lambda: GET /api/calls, /api/calls/{id}[/detail|/audio|/export], /api/metrics, /api/insights.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(functions::routes::batch::read_router).await
}
