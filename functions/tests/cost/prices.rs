//! AWS list prices (us-east-1, on-demand, x86_64: the template's default architecture; arm64 Lambda and
//! Fargate are about 20% cheaper) and the bill of one call-hour. The prices are the one table a reader
//! updates when AWS changes them; `docs/cost.md` shows the same table.

/// One priced quantity of a call-hour.
pub struct Line {
    pub service: &'static str,
    pub quantity: f64,
    pub unit: &'static str,
    /// US dollars per unit.
    pub price: f64,
}

impl Line {
    /// Dollars per 1,000 call-hours.
    pub fn per_thousand(&self) -> f64 {
        self.quantity * self.price * 1000.0
    }
}

pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
pub const LAMBDA_GB_SECOND: f64 = 0.000_016_666_7;
pub const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
pub const WEBSOCKET_MESSAGE: f64 = 1.00 / 1e6;
pub const WEBSOCKET_CONNECTION_MINUTE: f64 = 0.25 / 1e6;
pub const DYNAMODB_WRITE_UNIT: f64 = 0.625 / 1e6;
pub const DYNAMODB_READ_UNIT: f64 = 0.125 / 1e6;
pub const S3_CLASS_A: f64 = 0.005 / 1e3;
pub const S3_CLASS_B: f64 = 0.0004 / 1e3;
pub const S3_GB_MONTH: f64 = 0.023;
pub const SQS_REQUEST: f64 = 0.40 / 1e6;
pub const FARGATE_VCPU_HOUR: f64 = 0.040_48;
pub const FARGATE_GB_HOUR: f64 = 0.004_445;

/// Everything one call-hour uses.
#[derive(Debug, Default, Clone)]
pub struct CallHour {
    pub lambda_invocations: f64,
    pub lambda_gb_seconds: f64,
    pub http_api_requests: f64,
    pub websocket_messages: f64,
    pub websocket_connection_minutes: f64,
    pub dynamodb_write_units: f64,
    pub dynamodb_read_units: f64,
    pub s3_class_a: f64,
    pub s3_class_b: f64,
    /// Bytes kept for the retention period (`RetentionDays`), as GB-months.
    pub s3_gb_months: f64,
    pub sqs_requests: f64,
    pub fargate_vcpu_hours: f64,
    pub fargate_gb_hours: f64,
}

impl CallHour {
    pub fn lines(&self) -> Vec<Line> {
        let line = |service, quantity, unit, price| Line { service, quantity, unit, price };
        vec![
            line("Lambda requests", self.lambda_invocations, "invocation", LAMBDA_REQUEST),
            line("Lambda compute", self.lambda_gb_seconds, "GB-second", LAMBDA_GB_SECOND),
            line("API Gateway HTTP API", self.http_api_requests, "request", HTTP_API_REQUEST),
            line("API Gateway WebSocket messages", self.websocket_messages, "message", WEBSOCKET_MESSAGE),
            line(
                "API Gateway WebSocket connections",
                self.websocket_connection_minutes,
                "connection-minute",
                WEBSOCKET_CONNECTION_MINUTE,
            ),
            line("DynamoDB writes", self.dynamodb_write_units, "write request unit", DYNAMODB_WRITE_UNIT),
            line("DynamoDB reads", self.dynamodb_read_units, "read request unit", DYNAMODB_READ_UNIT),
            line("S3 PUT/POST/LIST", self.s3_class_a, "request", S3_CLASS_A),
            line("S3 GET/HEAD", self.s3_class_b, "request", S3_CLASS_B),
            line("S3 storage", self.s3_gb_months, "GB-month", S3_GB_MONTH),
            line("SQS", self.sqs_requests, "request", SQS_REQUEST),
            line("Fargate vCPU (listener)", self.fargate_vcpu_hours, "vCPU-hour", FARGATE_VCPU_HOUR),
            line("Fargate memory (listener)", self.fargate_gb_hours, "GB-hour", FARGATE_GB_HOUR),
        ]
    }

    pub fn per_thousand(&self) -> f64 {
        self.lines().iter().map(Line::per_thousand).sum()
    }

    /// The bill as a Markdown table.
    pub fn table(&self) -> String {
        let mut out =
            String::from("| service | per call-hour | unit | list price (USD) | USD per 1,000 call-hours |\n");
        out.push_str("|---|---:|---|---:|---:|\n");
        for l in self.lines() {
            out.push_str(&format!(
                "| {} | {} | {} | {:.10} | {:.2} |\n",
                l.service,
                quantity(l.quantity),
                l.unit,
                l.price,
                l.per_thousand()
            ));
        }
        out.push_str(&format!("| **total** | | | | **{:.2}** |\n", self.per_thousand()));
        out
    }
}

/// Whole numbers for counts, and enough digits for the small shares (a task's vCPU-hours per call).
fn quantity(q: f64) -> String {
    match q {
        q if q >= 100.0 => format!("{q:.0}"),
        q if q >= 1.0 => format!("{q:.2}"),
        q => format!("{q:.4}"),
    }
}
