//! The upload form's text fields (`POST /api/calls`): `call_options` against the batch settings.

use crate::grammar::{FORM_FIELDS, form_value};
use crate::harness::*;
use proptest::prelude::*;
use shared::batch::settings::{BatchConfig, PROMPT_PACKS, call_options};
use std::collections::HashMap;

#[test]
fn upload_form_fields() {
    let names = prop_oneof![4 => prop::sample::select(FORM_FIELDS).prop_map(str::to_string), 1 => ".{0,12}"];
    let fields = prop::collection::hash_map(names, form_value(), 0..10);
    let cfg = BatchConfig::from_env(&HashMap::<String, String>::new()).unwrap();
    fuzz("upload_form_fields", fields, |fields| {
        let Ok(o) = call_options(&fields, &cfg) else { return Ok(()) };
        check(PROMPT_PACKS.contains(&o.prompt_pack.as_str()), || format!("pack {:?}", o.prompt_pack))?;
        check(o.num_speakers.is_none_or(|n| (1..=20).contains(&n)), || format!("{:?} speakers", o.num_speakers))?;
        check(!o.language_code.is_empty(), || "no language".into())
    });
}
