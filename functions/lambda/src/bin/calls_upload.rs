//! Lambda: POST /api/calls and POST /api/calls/upload-url.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(env!("CARGO_BIN_NAME"), functions::routes::batch::upload_router).await
}
