//! Lambda: GET /api/openapi.json.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(|_| functions::routes::openapi::openapi_router()).await
}
