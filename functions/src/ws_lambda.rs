//! The API Gateway WebSocket API's function, one for all its routes (so `$connect` warms the container
//! that serves the `subscribe` right after): `$connect` redeems a one-time ticket (`?ticket=`, from
//! `POST /api/realtime/ws-ticket`) and may follow `?call_id=` at once; `$disconnect` forgets the connection;
//! every other route speaks `ws_protocol`, its reply returned as the route response. Ingest Lambdas push to
//! the connections directly (`ApiGatewayPush`).

use crate::ws_protocol::{self as protocol, ClientMessage, MAX_SUBSCRIPTIONS};
use lambda_http::aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use lambda_http::aws_lambda_events::encodings::Body;
use lambda_http::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use shared::adapters::aws::{AwsSettings, DynamoStore, Following};
use shared::ports::StoreError;
use shared::realtime::tickets;
use shared::settings::env::ProcessEnv;
use shared::values::timestamps::Timestamp;

fn reply(status: i64, body: &Value) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = status;
    r.body = Some(Body::Text(body.to_string()));
    r
}

/// Handles one WebSocket event; storage failures become a 500 with a generic detail (and a log line).
pub async fn handle(store: &DynamoStore, event: &ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
    let ctx = &event.request_context;
    let Some(connection) = ctx.connection_id.as_deref() else {
        return reply(400, &json!({"detail": "Missing connection id"}));
    };
    let now = chrono::Utc::now();
    let handled = match ctx.route_key.as_deref() {
        Some("$connect") => connect(store, event, connection, now).await,
        Some("$disconnect") => store.disconnect(connection).await.map(|()| reply(200, &json!({}))),
        _ => message(store, event, connection, now).await,
    };
    handled.unwrap_or_else(|e| {
        tracing::error!(%connection, error = %e, "websocket: storage failure");
        reply(500, &json!({"detail": "Internal storage error"}))
    })
}

async fn connect(
    store: &DynamoStore,
    event: &ApiGatewayWebsocketProxyRequest,
    connection: &str,
    now: Timestamp,
) -> Result<ApiGatewayProxyResponse, StoreError> {
    let query = &event.query_string_parameters;
    let redeemed = match query.first("ticket") {
        Some(ticket) => tickets::redeem(store, ticket, now).await?,
        None => false,
    };
    if !redeemed {
        return Ok(reply(
            401,
            &json!({"detail": "Unauthorized: connect with ?ticket= from POST /api/realtime/ws-ticket"}),
        ));
    }
    let call_id = query.first("call_id").map(str::trim).filter(|c| !c.is_empty() && *c != "*");
    if let Some(Err(e)) = call_id.map(shared::values::ids::validate_call_id) {
        return Ok(reply(400, &json!({"detail": e.to_string()})));
    }
    store.connect(connection, now).await?;
    if query.first("call_id").is_some() {
        store.subscribe(connection, call_id, MAX_SUBSCRIPTIONS, now).await?;
    }
    Ok(reply(200, &json!({"type": "connected"})))
}

async fn message(
    store: &DynamoStore,
    event: &ApiGatewayWebsocketProxyRequest,
    connection: &str,
    now: Timestamp,
) -> Result<ApiGatewayProxyResponse, StoreError> {
    if event.is_base64_encoded {
        return Ok(reply(200, &protocol::error("Binary messages are not supported")));
    }
    let message = match protocol::parse(event.body.as_deref().unwrap_or_default()) {
        Ok(m) => m,
        Err(e) => return Ok(reply(200, &e)),
    };
    let following = match &message {
        ClientMessage::Ping => return Ok(reply(200, &protocol::pong())),
        ClientMessage::Subscribe(call) => store.subscribe(connection, call.as_deref(), MAX_SUBSCRIPTIONS, now).await?,
        ClientMessage::Unsubscribe(call) => Some(store.unsubscribe(connection, call.as_deref()).await?),
    };
    Ok(reply(
        200,
        &match following {
            Some(Following { all, calls }) => protocol::subscription(&message, all, calls),
            None => protocol::error("Not subscribed: the connection is gone or follows too many calls"),
        },
    ))
}

/// Runs the WebSocket function `service`: the store built once per container, then `handle` per event.
pub async fn serve(service: &str) -> Result<(), lambda_http::Error> {
    let sdk = crate::lambda::init(service).await?;
    let store = DynamoStore::new(&sdk, &AwsSettings::from_env(&ProcessEnv)?);
    let store = &store;
    lambda_http::lambda_runtime::run(service_fn(move |e: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
        Ok::<_, lambda_http::Error>(crate::lambda::flushed(handle(store, &e.payload)).await)
    }))
    .await
}
