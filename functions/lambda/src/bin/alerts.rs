//! Lambda: GET /api/realtime/alerts.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(functions::routes::alerts::alerts_router).await
}
