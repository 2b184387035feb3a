//! Lambda: GET /api/openapi.json.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(env!("CARGO_BIN_NAME"), |_| functions::routes::openapi::openapi_router()).await
}
