//! Listener autoscaling: on open sessions per task, aiming at a share of what the task's CPU carries, and
//! never cutting a call (scale-in waits, and stops only tasks without sessions).

mod common;

use common::deployment::Deployment;
use common::metrics::{check_series, named, read, services};
use common::{references, root, seconds, str_of, template};
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The default sessions-per-task target of each task size, from the template's mapping.
fn default_targets(t: &Value) -> BTreeMap<u64, u64> {
    t["Parameters"]["ListenerCpu"]["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|cpu| {
            let cpu = seconds(cpu, "ListenerCpu");
            let target = &t["Mappings"]["ListenerCapacity"][cpu.to_string().as_str()]["TargetSessions"];
            (cpu, target.as_u64().unwrap_or_else(|| panic!("no target for {cpu} CPU units")))
        })
        .collect()
}

/// `listener/src/audiohook/admission.rs`'s `DEFAULT_MAX_SESSIONS`: the sessions a task admits at most.
fn max_sessions() -> u64 {
    let source = std::fs::read_to_string(root().join("listener/src/audiohook/admission.rs")).unwrap();
    let line = source.lines().find(|l| l.starts_with("pub const DEFAULT_MAX_SESSIONS")).unwrap();
    line.split('=').nth(1).unwrap().trim().trim_end_matches(';').replace('_', "").parse().unwrap()
}

/// The listener scales on its open sessions per task (the average of its `sessions_open` gauge over
/// `Service=listener`) between its two counts, aiming at a share of what the task's CPU carries (below the
/// sessions a task admits); scale-in waits at least the deregistration delay, and stops only idle tasks: a
/// task holding sessions protects itself from scale-in, which its role allows for its cluster's tasks only.
#[test]
fn the_listener_scales_on_sessions_per_task_without_cutting_calls() {
    let t = template();
    let r = &t["Resources"];
    let target = &r["ListenerScalableTarget"];
    let policy = &r["ListenerSessionsScaling"];
    for x in [target, policy] {
        assert_eq!(x["Condition"].as_str(), Some("DeployListener"));
    }
    let p = &target["Properties"];
    assert_eq!(
        (p["ServiceNamespace"].as_str(), p["ScalableDimension"].as_str()),
        (Some("ecs"), Some("ecs:service:DesiredCount"))
    );
    let mut refs = Vec::new();
    references(&p["ResourceId"], "", None, &mut refs);
    let refs: BTreeSet<String> = refs.into_iter().map(|(n, _)| n).collect();
    assert_eq!(refs, BTreeSet::from(["ListenerCluster".into(), "ListenerService".into()]));
    assert_eq!(named(&p["MinCapacity"]).as_deref(), Some("ListenerDesiredCount"));
    assert_eq!(named(&p["MaxCapacity"]).as_deref(), Some("ListenerMaxCount"));
    let count = |name: &str| seconds(&t["Parameters"][name]["Default"], name);
    assert!(count("ListenerDesiredCount") <= count("ListenerMaxCount"));

    let c = &policy["Properties"]["TargetTrackingScalingPolicyConfiguration"];
    assert_eq!(policy["Properties"]["PolicyType"].as_str(), Some("TargetTrackingScaling"));
    let metric = read(&c["CustomizedMetricSpecification"]);
    assert_eq!(metric.name, "call_analytics_audiohook_sessions_open");
    assert_eq!(c["CustomizedMetricSpecification"]["Statistic"].as_str(), Some("Average"), "sessions per task");
    check_series(&metric, &services(&t), "ListenerSessionsScaling");
    assert_eq!(metric.dimensions["Service"].as_str(), Some("listener"));

    // The target: the parameter when given, else the mapping's for the task's CPU.
    let chosen = |given: &[(&str, &str)]| Deployment::new(&t, given).chosen(&c["TargetValue"]);
    assert_eq!(
        named(&chosen(&[("ListenerTargetSessionsPerTask", "50")])).as_deref(),
        Some("ListenerTargetSessionsPerTask")
    );
    let Value::Tagged(map) = chosen(&[]) else { panic!("TargetValue {:?}", c["TargetValue"]) };
    assert_eq!(map.tag, "!FindInMap");
    assert_eq!(named(&map.value[1]).as_deref(), Some("ListenerCpu"));
    let targets = default_targets(&t);
    let admitted = max_sessions();
    let mut previous = 0;
    for (cpu, sessions) in targets {
        assert!(sessions >= previous, "{cpu} CPU units aim at fewer sessions than a smaller task");
        assert!(sessions < admitted, "{cpu} CPU units aim at {sessions}: a task admits {admitted}");
        // The benchmark carried about 1,470 sessions a vCPU: aim at well under it.
        assert!(sessions * 1024 <= cpu * 1_470 / 2, "{cpu} CPU units aim at {sessions}, over half their capacity");
        previous = sessions;
    }

    // Scale-in after calls have had their time, like a task's deregistration.
    let attrs = r["ListenerTargetGroup"]["Properties"]["TargetGroupAttributes"].as_sequence().unwrap();
    let delay = attrs.iter().find(|a| a["Key"] == "deregistration_delay.timeout_seconds").unwrap();
    let scale_in = seconds(&c["ScaleInCooldown"], "ScaleInCooldown");
    assert!(scale_in >= seconds(&delay["Value"], "deregistration delay"), "scale-in every {scale_in} s");
    assert!(seconds(&c["ScaleOutCooldown"], "ScaleOutCooldown") <= 120, "calls wait for a slow scale-out");

    // The task may protect itself, through its agent, with its own role; only the cluster's tasks.
    let statements =
        r["ListenerTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].as_sequence().unwrap();
    let protect = statements
        .iter()
        .find(|s| s["Action"] == "ecs:UpdateTaskProtection")
        .expect("the listener's task role cannot set scale-in protection");
    let Value::Tagged(arn) = &protect["Resource"] else { panic!("{:?}", protect["Resource"]) };
    assert!(str_of(&arn.value).contains(":task/${ListenerCluster}/*"), "{:?}", arn.value);
}
