use super::*;
use serde_json::json;

fn settings(extra: &[(&str, &str)]) -> TopicSettings {
    let env: std::collections::HashMap<String, String> =
        extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    TopicSettings::from_env(&env).unwrap()
}

#[test]
fn modes_as_the_seed_reads_them() {
    let m = |s| Mode::parse(s);
    assert_eq!(m("manual"), Mode { queues: false, users: false });
    assert_eq!(m(" Queue "), Mode { queues: true, users: false });
    assert_eq!(m("users"), Mode { queues: false, users: true });
    for both in ["queues_users", "users_queues", "all", "org", "anything"] {
        assert_eq!(m(both), Mode { queues: true, users: true }, "{both}");
    }
    let s = settings(&[]);
    assert_eq!(
        (s.mode, s.max_queues, s.max_users, s.refresh_seconds),
        (Mode { queues: true, users: true }, 25, 50, 900)
    );
}

#[test]
fn manual_topics_and_ids() {
    let s = settings(&[
        ("GENESYS_SUBSCRIPTION_TOPICS", "v2.a, v2.b,,"),
        ("GENESYS_QUEUE_IDS", "q1"),
        ("GENESYS_USER_IDS", "u1,u2"),
        ("GENESYS_TOPIC_BUILDER_REFRESH_SECONDS", "5"),
    ]);
    assert_eq!(
        s.manual_topics(),
        [
            "v2.a",
            "v2.b",
            "v2.routing.queues.q1.conversations.calls",
            "v2.users.u1.conversations.calls",
            "v2.users.u2.conversations.calls"
        ]
    );
    assert_eq!(s.refresh_seconds, 60);
    assert_eq!(union(vec!["b".into(), "a".into()], vec!["a".into(), "c".into()]), ["a", "b", "c"]);
}

#[test]
fn queue_and_user_filters() {
    let s = settings(&[
        ("GENESYS_TOPIC_BUILDER_QUEUE_NAME_FILTERS", "Support"),
        ("GENESYS_TOPIC_BUILDER_USER_NAME_FILTERS", "ann"),
        ("GENESYS_TOPIC_BUILDER_USER_EMAIL_DOMAIN_FILTERS", "@Example.com"),
    ]);
    assert_eq!(queue_of(&json!({"id": "q1", "name": "EU support"}), &s).map(|q| q.id), Some("q1".into()));
    assert_eq!(queue_of(&json!({"id": "q2", "name": "Sales"}), &s), None);
    assert_eq!(queue_of(&json!({"id": "q3"}), &s), None, "a queue needs a name");
    let user = |name: &str, email: &str| user_of(&json!({"id": "u", "name": name, "email": email}), &s).is_some();
    assert!(user("Anna Smith", "anna@example.com"));
    assert!(!user("Anna Smith", "anna@example.org"), "both filters must pass");
    assert!(!user("Bob", "bob@example.com"));
    assert!(!user("Anna", "anna@notexample.com"), "the domain is matched after the @");
    let open = settings(&[]);
    assert!(user_of(&json!({"id": "u"}), &open).is_some(), "no filters: any user with an id");
}

#[test]
fn paging_stops_like_the_seed() {
    let page = |n: usize, count: u64| json!({"entities": vec![json!({}); n], "pageCount": count});
    assert!(!last_page(1, &page(100, 3)));
    assert!(last_page(3, &page(100, 3)));
    assert!(last_page(1, &page(99, 3)), "a short page is the last");
    assert!(last_page(1, &page(0, 3)));
    assert!(last_page(50, &page(100, 99)), "never past page 50");
}

#[test]
fn more_than_900_topics_take_two_channels() {
    let topics: Vec<String> = (0..1234).map(|i| format!("v2.users.{i}.conversations.calls")).collect();
    let shards = shard(&topics);
    assert_eq!(shards.iter().map(Vec::len).collect::<Vec<_>>(), [900, 334]);
    assert_eq!(shards.concat(), topics);
    assert!(shard(&[]).is_empty());
}
