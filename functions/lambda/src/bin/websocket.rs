//! Lambda: the WebSocket API's `$connect`, `$disconnect` and message routes.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::ws_lambda::serve(env!("CARGO_BIN_NAME")).await
}
