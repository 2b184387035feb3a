//! Lambda: GET /api/integrations/genesys/health, .../audiohook/health and /healthz.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(env!("CARGO_BIN_NAME"), functions::routes::health::health_router).await
}
