//! Lambda: POST /api/realtime/ws-ticket.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(env!("CARGO_BIN_NAME"), functions::routes::tickets::ws_ticket_router).await
}
