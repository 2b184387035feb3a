//! DynamoDB's on-demand request units, computed from the items a request writes or reads, because neither
//! emulator reports them (moto answers a fixed 1.0 whatever the size). The rules, from DynamoDB's developer
//! guide ("Item sizes and formats", "Read/write capacity mode"):
//! - a write costs 1 write unit per started KB of the larger of the item before and after it, at least 1;
//!   twice that inside `TransactWriteItems`; a failed conditional write is charged as well;
//! - a read costs one half unit per started 4 KB (eventually consistent), one unit strongly consistent, twice
//!   that inside `TransactGetItems`; a `Query` or `Scan` sums the sizes of the items it returns before
//!   rounding; a read that finds nothing still costs the minimum.
//!
//! Read units are counted in halves so that everything stays in whole numbers.

use serde_json::Value;

/// The size DynamoDB bills for one item given as DynamoDB JSON (`{"name": {"S": "…"}, …}`).
pub fn item_size(item: &Value) -> u64 {
    item.as_object().map_or(0, |attrs| attrs.iter().map(|(name, v)| name.len() as u64 + value_size(v)).sum())
}

/// One attribute value's size: strings and binary by their bytes, numbers about one byte per two digits plus
/// one, booleans and null one byte, documents 3 bytes plus one per element plus their contents.
fn value_size(v: &Value) -> u64 {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else { return 0 };
    let text = |s: &Value| s.as_str().map_or(0, |s| s.len() as u64);
    let number = |s: &Value| {
        let digits = s.as_str().map_or(0, |s| s.chars().filter(char::is_ascii_digit).count() as u64);
        digits.div_ceil(2) + 1
    };
    let binary = |s: &Value| s.as_str().map_or(0, |s| (s.len() as u64 * 3 / 4).saturating_sub(padding(s)));
    let list = |f: &dyn Fn(&Value) -> u64| inner.as_array().map_or(0, |a| a.iter().map(f).sum::<u64>());
    match kind.as_str() {
        "S" => text(inner),
        "N" => number(inner),
        "B" => binary(inner),
        "BOOL" | "NULL" => 1,
        "SS" => list(&text),
        "NS" => list(&number),
        "BS" => list(&binary),
        "L" => 3 + list(&|e| 1 + value_size(e)),
        "M" => 3 + inner.as_object().map_or(0, |m| m.iter().map(|(k, e)| 1 + k.len() as u64 + value_size(e)).sum()),
        _ => 0,
    }
}

fn padding(b64: &str) -> u64 {
    b64.bytes().rev().take_while(|&c| c == b'=').count() as u64
}

/// Write units for one item whose size before and after the write were `before` and `after` bytes.
pub fn write_units(before: u64, after: u64, transactional: bool) -> u64 {
    let units = before.max(after).div_ceil(1024).max(1);
    if transactional { 2 * units } else { units }
}

/// Read half-units for `bytes` read in one item or one `Query`/`Scan` page.
pub fn read_half_units(bytes: u64, consistent: bool, transactional: bool) -> u64 {
    let blocks = bytes.div_ceil(4096).max(1);
    match (consistent || transactional, transactional) {
        (_, true) => 4 * blocks,
        (true, false) => 2 * blocks,
        (false, false) => blocks,
    }
}

/// The read half-units a read request's answer costs: `op` is the operation, `request` and `response` the
/// JSON bodies.
pub fn read_cost(op: &str, request: &Value, response: &Value) -> u64 {
    let consistent = request["ConsistentRead"].as_bool().unwrap_or(false);
    match op {
        "GetItem" => read_half_units(item_size(&response["Item"]), consistent, false),
        "Query" | "Scan" => {
            let items = response["Items"].as_array().map_or(&[][..], Vec::as_slice);
            read_half_units(items.iter().map(item_size).sum(), consistent, false)
        }
        "BatchGetItem" => {
            let consistent_in = |table: &str| request["RequestItems"][table]["ConsistentRead"].as_bool();
            let per_table = response["Responses"].as_object().into_iter().flat_map(|t| t.iter());
            per_table
                .flat_map(|(table, items)| {
                    let consistent = consistent_in(table).unwrap_or(false);
                    items
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(move |i| read_half_units(item_size(i), consistent, false))
                })
                .sum()
        }
        "TransactGetItems" => response["Responses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| read_half_units(item_size(&r["Item"]), true, true))
            .sum(),
        _ => 0,
    }
}

/// One item a write request touches: its table and key (`pk`, `sk`: the template's key schema), and the
/// item itself when the request puts it whole.
pub struct Written {
    pub table: String,
    pub key: Value,
    pub put: Option<Value>,
}

/// The items a write request touches, and whether it is transactional.
pub fn written_keys(op: &str, request: &Value) -> (Vec<Written>, bool) {
    let table = |v: &Value| v["TableName"].as_str().unwrap_or_default().to_string();
    let put = |table: String, item: &Value| Written {
        table,
        key: serde_json::json!({"pk": item["pk"], "sk": item["sk"]}),
        put: Some(item.clone()),
    };
    let keyed = |table: String, key: &Value| Written { table, key: key.clone(), put: None };
    match op {
        "PutItem" => (vec![put(table(request), &request["Item"])], false),
        "UpdateItem" | "DeleteItem" => (vec![keyed(table(request), &request["Key"])], false),
        "TransactWriteItems" => {
            let items = request["TransactItems"].as_array().into_iter().flatten().filter_map(|i| {
                let (kind, body) = i.as_object()?.iter().next()?;
                Some(if kind == "Put" { put(table(body), &body["Item"]) } else { keyed(table(body), &body["Key"]) })
            });
            (items.collect(), true)
        }
        "BatchWriteItem" => {
            let tables = request["RequestItems"].as_object().into_iter().flat_map(|t| t.iter());
            let items = tables.flat_map(|(name, writes)| {
                writes.as_array().into_iter().flatten().map(move |w| match w["PutRequest"]["Item"].as_object() {
                    Some(_) => put(name.clone(), &w["PutRequest"]["Item"]),
                    None => keyed(name.clone(), &w["DeleteRequest"]["Key"]),
                })
            });
            (items.collect(), false)
        }
        _ => (Vec::new(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_follow_the_developer_guide() {
        // Names count with their values: "pk"(2) + "call#1"(6) + "n"(1) + 3 digits (2 + 1) + "ok"(2) + bool(1).
        let item = json!({"pk": {"S": "call#1"}, "n": {"N": "123"}, "ok": {"BOOL": true}});
        assert_eq!(item_size(&item), 2 + 6 + 1 + 3 + 2 + 1);
        // A map: 3 bytes, plus per element one byte, its name and its value.
        assert_eq!(item_size(&json!({"m": {"M": {"a": {"S": "xy"}}}})), 1 + 3 + 1 + 1 + 2);
        // Binary counts decoded bytes: "AAAA" is 3 bytes, "AA==" one.
        assert_eq!(item_size(&json!({"b": {"B": "AAAA"}, "c": {"B": "AA=="}})), 1 + 3 + 1 + 1);
    }

    #[test]
    fn units_round_up_per_started_kilobyte_or_four() {
        assert_eq!(write_units(0, 1, false), 1);
        assert_eq!(write_units(1025, 10, false), 2, "the larger of before and after");
        assert_eq!(write_units(100, 0, true), 2, "transactions cost double");
        assert_eq!(read_half_units(0, false, false), 1, "an empty read costs the minimum");
        assert_eq!(read_half_units(4097, false, false), 2);
        assert_eq!(read_half_units(4096, true, false), 2);
        assert_eq!(read_half_units(10, false, true), 4);
    }
}
