//! Lambda: POST /api/calls/bulk and POST /api/glossary.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(env!("CARGO_BIN_NAME"), functions::routes::batch::manage_router).await
}
