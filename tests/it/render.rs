//! The renderers: text, JSON and Markdown plans of hand-built plans, the committed JSON Schema of
//! the JSON plan, and the PR comment's size cap.
//!
//! Plans are built by hand here (not by `diff`) so that each scenario shows exactly one thing a
//! reviewer must be able to read.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use embedctl::plan::{
    Action, ApiBudget, Change, Kind, Note, PendingStatus, PendingUser, Plan, Reason,
    SkippedCustomer, Subject, Target, Unmanaged, budget_of,
};
use embedctl::render::{Command, Format, Listing, RenderContext, markdown, render};
use serde_json::{Value, json};

use crate::context::repo_root;

// ---------------------------------------------------------------------------------------------
// Building plans

fn change(
    customer: &str,
    phase: u8,
    action: Action,
    kind: Kind,
    key: &str,
    reason: Reason,
    (before, after): (Value, Value),
) -> Change {
    Change {
        customer: customer.to_owned(),
        phase,
        action,
        subject: subject_of(kind, key),
        reason,
        before: before.into(),
        after: after.into(),
        blocked_by: None,
        target: Target::default(),
        assets: None,
    }
}

/// The subject a test key stands for (`m`, `m.c`, `m/Recipe`, `m.c/user[/function]`).
fn subject_of(kind: Kind, key: &str) -> Subject {
    let manifest = key.split(['.', '/']).next().unwrap_or(key).to_owned();
    let connection = || {
        key.split('/')
            .next()
            .and_then(|reference| reference.split_once('.'))
            .map(|(_, connection)| connection.to_owned())
            .unwrap_or_default()
    };
    match kind {
        Kind::Customer | Kind::Gate => Subject::Customer,
        Kind::Folder => Subject::Folder { manifest },
        Kind::Package => Subject::Package { manifest },
        Kind::Connection => Subject::Connection {
            manifest,
            connection: connection(),
        },
        Kind::Recipe => Subject::Recipe {
            manifest,
            recipe: key
                .split_once('/')
                .map(|(_, r)| r.to_owned())
                .unwrap_or_default(),
        },
        Kind::RuntimeConnection => {
            let mut parts = key.split('/').skip(1);
            Subject::RuntimeConnection {
                manifest,
                connection: connection(),
                user: parts.next().unwrap_or_default().to_owned(),
                function: parts.next().map(str::to_owned),
            }
        }
    }
}

fn blocked(mut change: Change, why: &str) -> Change {
    change.blocked_by = Some(why.to_owned());
    change
}

fn pending(
    customer: &str,
    user: &str,
    connection: &str,
    recipe_function: Option<&str>,
    connection_id: Option<u64>,
) -> PendingUser {
    PendingUser {
        customer: customer.to_owned(),
        user: user.to_owned(),
        connection: connection.to_owned(),
        recipe_function: recipe_function.map(str::to_owned),
        connection_id,
        status: PendingStatus::NeverConnected,
        authorization_error: None,
        reason: Reason::RuntimeConnectionPending,
    }
}

/// A customer set up from nothing: all four phases, two end users who then have to connect.
fn onboarding_changes(customer: &str) -> (Vec<Change>, Vec<PendingUser>) {
    let changes = vec![
        change(
            customer,
            1,
            Action::Create,
            Kind::Customer,
            customer,
            Reason::CustomerMissing,
            (
                Value::Null,
                json!({
                    "external_id": customer,
                    "name": "Acme Corp",
                    "notification_email": "it@acme.example",
                }),
            ),
        ),
        change(
            customer,
            2,
            Action::Create,
            Kind::Folder,
            "files-sync",
            Reason::FolderMissing,
            (Value::Null, json!({ "name": "Files Sync" })),
        ),
        change(
            customer,
            2,
            Action::Import,
            Kind::Package,
            "files-sync",
            Reason::PackageNotImported,
            (
                Value::Null,
                json!({ "digest": "3f9a1c2b7d4e", "folder": "Files Sync", "restart_recipes": false }),
            ),
        ),
        change(
            customer,
            3,
            Action::Authorize,
            Kind::Connection,
            "files-sync.partner_app",
            Reason::ConnectionCredentialsMissing,
            (Value::Null, json!({ "fingerprint": "fp:1a2b3c4d" })),
        ),
        change(
            customer,
            3,
            Action::Authorize,
            Kind::Connection,
            "files-sync.crm",
            Reason::ConnectionCredentialsMissing,
            (Value::Null, json!({ "fingerprint": "(known at apply)" })),
        ),
        change(
            customer,
            3,
            Action::Start,
            Kind::Recipe,
            "files-sync/List files",
            Reason::RecipeNotRunning,
            (json!({ "running": false }), json!({ "running": true })),
        ),
        change(
            customer,
            4,
            Action::Create,
            Kind::RuntimeConnection,
            "files-sync.dropbox/user-a",
            Reason::RuntimeConnectionMissing,
            (
                Value::Null,
                json!({
                    "name": "Dropbox - User A",
                    "provider": "dropbox",
                    "external_id": "user-a",
                    "parent_id": null,
                }),
            ),
        ),
        change(
            customer,
            4,
            Action::Create,
            Kind::RuntimeConnection,
            "files-sync.dropbox/user-b",
            Reason::RuntimeConnectionMissing,
            (
                Value::Null,
                json!({
                    "name": "Dropbox - user-b",
                    "provider": "dropbox",
                    "external_id": "user-b",
                    "parent_id": null,
                }),
            ),
        ),
    ];
    let pending_users = vec![
        pending(customer, "user-a", "files-sync.dropbox", None, None),
        pending(customer, "user-b", "files-sync.dropbox", None, None),
    ];
    (changes, pending_users)
}

fn empty() -> Plan {
    Plan::default()
}

fn onboarding() -> Plan {
    let (changes, pending_users) = onboarding_changes("acme-001");
    Plan {
        changes,
        pending_users,
        ..Plan::default()
    }
}

/// A customer whose recipe Workato stopped, one whose connection has no credentials: phase 4
/// cannot open for either; one planned change goes ahead.
fn blocked_changes() -> Plan {
    let recipe_gate = "integration setup is in progress: recipe \"List files\" was stopped by Workato (`trial_expired`)";
    Plan {
        changes: vec![change(
            "beta-002",
            1,
            Action::Update,
            Kind::Customer,
            "beta-002",
            Reason::CustomerChanged,
            (json!({ "name": "Beta" }), json!({ "name": "Beta GmbH" })),
        )],
        blocked: vec![
            blocked(
                change(
                    "beta-002",
                    3,
                    Action::Start,
                    Kind::Recipe,
                    "files-sync/List files",
                    Reason::RecipeStoppedByWorkato,
                    (
                        json!({ "running": false, "stop_cause": "trial_expired" }),
                        json!({ "running": true }),
                    ),
                ),
                "Workato stopped the recipe (`trial_expired`); fix the cause in Workato, then run `embedctl apply`",
            ),
            blocked(
                change(
                    "beta-002",
                    4,
                    Action::Create,
                    Kind::RuntimeConnection,
                    "files-sync.dropbox/user-a",
                    Reason::GateClosed,
                    (
                        Value::Null,
                        json!({ "name": "Dropbox - User A", "provider": "dropbox", "external_id": "user-a" }),
                    ),
                ),
                recipe_gate,
            ),
            blocked(
                change(
                    "delta-004",
                    3,
                    Action::Start,
                    Kind::Recipe,
                    "files-sync/List files",
                    Reason::RecipeCannotStart,
                    (json!({ "running": false }), json!({ "running": true })),
                ),
                "recipe \"List files\" cannot start: connection \"PartnerApp\" has no credentials",
            ),
            blocked(
                change(
                    "delta-004",
                    4,
                    Action::Create,
                    Kind::RuntimeConnection,
                    "files-sync.dropbox/user-z",
                    Reason::GateClosed,
                    (
                        Value::Null,
                        json!({ "name": "Dropbox - user-z", "provider": "dropbox", "external_id": "user-z" }),
                    ),
                ),
                "integration setup is in progress: recipe \"List files\" cannot start: connection \"PartnerApp\" has no credentials",
            ),
        ],
        ..Plan::default()
    }
}

/// End users: one connected under the wrong parent (replaced), one renamed, one no longer listed
/// (pruned), and three still to authorize, one of them for a recipe function.
fn pending_users() -> Plan {
    let customer = "gamma-003";
    Plan {
        changes: vec![
            change(
                customer,
                4,
                Action::Replace,
                Kind::RuntimeConnection,
                "files-sync.dropbox/user-c",
                Reason::RuntimeConnectionWrongParent,
                (
                    json!({ "name": "Dropbox - User C", "parent_id": 41 }),
                    json!({ "name": "Dropbox - User C", "parent_id": null }),
                ),
            ),
            change(
                customer,
                4,
                Action::Update,
                Kind::RuntimeConnection,
                "files-sync.dropbox/user-d",
                Reason::RuntimeConnectionRenamed,
                (
                    json!({ "name": "Dropbox - Dee" }),
                    json!({ "name": "Dropbox - User D" }),
                ),
            ),
            change(
                customer,
                4,
                Action::Delete,
                Kind::RuntimeConnection,
                "files-sync.dropbox/user-gone",
                Reason::RuntimeConnectionUnlisted,
                (json!({ "name": "Dropbox - Gone" }), Value::Null),
            ),
        ],
        pending_users: vec![
            pending(customer, "user-c", "files-sync.dropbox", None, None),
            pending(customer, "user-e", "files-sync.dropbox", None, Some(77)),
            pending(
                customer,
                "user-e",
                "files-sync.dropbox",
                Some("Get file"),
                Some(78),
            ),
        ],
        ..Plan::default()
    }
}

/// Nothing to change; Workato has a customer and a runtime connection the file does not list, a
/// customer with Embedded environments is skipped, and a note.
fn unmanaged() -> Plan {
    Plan {
        unmanaged: vec![
            Unmanaged {
                customer: "legacy-co".to_owned(),
                kind: Kind::Customer,
                key: "legacy-co".to_owned(),
                reason: Reason::CustomerUnmanaged,
                id: Some(4711),
            },
            Unmanaged {
                customer: "acme-001".to_owned(),
                kind: Kind::RuntimeConnection,
                key: "files-sync.dropbox/old-user".to_owned(),
                reason: Reason::RuntimeConnectionUnlisted,
                id: Some(99),
            },
        ],
        skipped: vec![SkippedCustomer {
            customer: "envs-005".to_owned(),
            why: "has Embedded environments, which this version does not manage".to_owned(),
        }],
        // One message for four customers: text and Markdown print it once, with the count.
        notes: ["acme-001", "globex-002", "initech-003", "umbrella-004"]
            .into_iter()
            .map(|customer| {
                Note::customer(
                    customer,
                    "credentials of `files-sync.crm` not compared (`CRM_ACCESS_TOKEN` is not set); `plan --out` and `apply` need them".to_owned(),
                )
            })
            .chain([Note::customer(
                "acme-001",
                "2 connections are named \"CRM\" (7, 9): embedctl uses 7; delete or rename the others"
                    .to_owned(),
            )])
            .collect(),
        ..Plan::default()
    }
}

/// Rotated credentials: only fingerprints, before and after; one connection Workato still
/// rejects with the credentials already sent.
fn credentials() -> Plan {
    Plan {
        changes: vec![change(
            "acme-001",
            3,
            Action::Authorize,
            Kind::Connection,
            "files-sync.partner_app",
            Reason::ConnectionCredentialsChanged,
            (
                json!({ "fingerprint": "fp:1a2b3c4d" }),
                json!({ "fingerprint": "fp:5e6f7a8b" }),
            ),
        )],
        blocked: vec![blocked(
            change(
                "acme-001",
                3,
                Action::Authorize,
                Kind::Connection,
                "files-sync.crm",
                Reason::ConnectionAuthFailed,
                (
                    json!({ "fingerprint": "fp:9c0d1e2f", "authorization_status": "failed" }),
                    json!({ "fingerprint": "fp:9c0d1e2f", "authorization_status": "success" }),
                ),
            ),
            "Workato rejects the credentials already sent (`invalid_grant`); change them, or use `apply --refresh-credentials`",
        )],
        ..Plan::default()
    }
}

/// A long single-line value and a multi-line one: both shown as unified diffs.
fn long_values() -> Plan {
    let before_description = "Syncs files from Dropbox.\nRuns every hour.\nOwner: integrations team\nContact: it@acme.example\nSee the runbook.";
    let after_description = "Syncs files from Dropbox and Box.\nRuns every hour.\nOwner: integrations team\nContact: it@acme.example\nSee the runbook.\nPaused on weekends.";
    Plan {
        changes: vec![
            change(
                "acme-001",
                1,
                Action::Update,
                Kind::Customer,
                "acme-001",
                Reason::CustomerChanged,
                (
                    json!({ "notification_email": "integrations-and-automation-notifications@acme-corporation.example" }),
                    json!({ "notification_email": "integrations-and-automation-alerts@acme-corporation.example" }),
                ),
            ),
            change(
                "acme-001",
                2,
                Action::Import,
                Kind::Package,
                "files-sync",
                Reason::PackageChanged,
                (
                    json!({ "digest": "3f9a1c2b7d4e", "description": before_description }),
                    json!({ "digest": "8e7d6c5b4a39", "description": after_description }),
                ),
            ),
        ],
        ..Plan::default()
    }
}

/// `count` customers onboarding at once, every tenth one blocked in phase 4.
fn many_customers(count: usize) -> Plan {
    let mut plan = Plan::default();
    for number in 1..=count {
        let customer = format!("customer-{number:03}");
        let (mut changes, pending_users) = onboarding_changes(&customer);
        if number % 10 == 0 {
            let gate = changes.pop().map(|change| {
                let mut change = blocked(
                    change,
                    "integration setup is in progress: recipe \"List files\" cannot start: connection \"PartnerApp\" has no credentials",
                );
                change.reason = Reason::GateClosed;
                change
            });
            plan.blocked.extend(gate);
        }
        plan.changes.extend(changes);
        plan.pending_users.extend(pending_users);
    }
    plan
}

// ---------------------------------------------------------------------------------------------
// Rendering

fn context(color: bool) -> RenderContext {
    RenderContext {
        color,
        title: "embedctl.yaml".to_owned(),
        command: Command::Plan,
        observed_calls: BTreeMap::from([
            ("connections_list".to_owned(), 1),
            ("customers".to_owned(), 1),
            ("properties_list".to_owned(), 1),
            ("recipes_read".to_owned(), 1),
        ]),
        listing: Listing::default(),
    }
}

fn budget(plan: &Plan) -> ApiBudget {
    budget_of(&plan.changes, 1.0)
}

fn rendered(plan: &Plan, format: Format) -> String {
    render(plan, &budget(plan), &context(false), format)
}

/// Every scenario, by name.
fn scenarios() -> Vec<(&'static str, Plan)> {
    vec![
        ("empty", empty()),
        ("onboarding", onboarding()),
        ("blocked", blocked_changes()),
        ("pending_users", pending_users()),
        ("unmanaged", unmanaged()),
        ("credentials", credentials()),
        ("long_values", long_values()),
    ]
}

/// Snapshots a scenario in every format, and checks what must hold of every rendering.
fn check(name: &str, plan: &Plan) {
    let text = rendered(plan, Format::Text);
    let json = rendered(plan, Format::Json);
    let markdown = rendered(plan, Format::Markdown);
    for (format, output) in [("text", &text), ("json", &json), ("markdown", &markdown)] {
        assert!(
            !output.contains('\u{1b}'),
            "{name} {format}: colour with colour off"
        );
        assert!(output.ends_with('\n'), "{name} {format}: no final newline");
        assert_no_token_links(output);
    }
    assert_conforms(&json, name);
    insta::assert_snapshot!(format!("{name}_text"), text);
    insta::assert_snapshot!(format!("{name}_json"), json);
    insta::assert_snapshot!(format!("{name}_markdown"), markdown);
}

#[test]
fn empty_plan() {
    check("empty", &empty());
}

#[test]
fn one_customer_onboarding_in_four_phases() {
    check("onboarding", &onboarding());
}

#[test]
fn blocked_changes_say_why() {
    check("blocked", &blocked_changes());
}

#[test]
fn pending_end_users() {
    check("pending_users", &pending_users());
}

#[test]
fn unmanaged_customer_skipped_customer_and_notes() {
    check("unmanaged", &unmanaged());
}

#[test]
fn credentials_show_only_fingerprints() {
    let plan = credentials();
    check("credentials", &plan);
    let text = rendered(&plan, Format::Text);
    assert!(
        text.contains("fingerprint: \"fp:1a2b3c4d\" → \"fp:5e6f7a8b\""),
        "{text}"
    );
}

#[test]
fn long_and_multi_line_values_are_unified_diffs() {
    let plan = long_values();
    check("long_values", &plan);
    let text = rendered(&plan, Format::Text);
    assert!(text.contains("-Syncs files from Dropbox.\n"), "{text}");
    assert!(text.contains("+Paused on weekends.\n"), "{text}");
}

#[test]
fn colour_only_when_asked_for() {
    let plan = many_customers(10);
    let budget = budget(&plan);
    let plain = render(&plan, &budget, &context(false), Format::Text);
    let coloured = render(&plan, &budget, &context(true), Format::Text);
    assert!(!plain.contains('\u{1b}'));
    assert!(
        coloured.contains("\u{1b}[32m+"),
        "no green create marker:\n{coloured}"
    );
    assert!(
        coloured.contains("\u{1b}[35m!"),
        "no magenta blocked marker:\n{coloured}"
    );
    for format in [Format::Json, Format::Markdown] {
        let output = render(&plan, &budget, &context(true), format);
        assert!(!output.contains('\u{1b}'), "{format} is never coloured");
    }
}

#[test]
fn rendering_is_deterministic() {
    let mut plans = scenarios();
    plans.push(("many", many_customers(40)));
    for (name, plan) in plans {
        for format in Format::ALL {
            let first = rendered(&plan, format);
            let again = rendered(&plan.clone(), format);
            assert!(
                first == again,
                "{name} {format} differs between two renderings"
            );
        }
    }
}

#[test]
fn format_names() {
    for format in Format::ALL {
        assert_eq!(Format::parse(format.as_str()), Ok(format));
    }
    let error = Format::parse("yaml").unwrap_err();
    assert_eq!(
        error.to_string(),
        "`yaml` is not an output format; use `text`, `json` or `markdown`"
    );
}

// ---------------------------------------------------------------------------------------------
// The PR comment's size cap

#[test]
fn markdown_of_300_customers_stays_under_the_cap_and_says_what_it_left_out() {
    let plan = many_customers(300);
    let comment = rendered(&plan, Format::Markdown);
    let length = comment.chars().count();
    assert!(length <= markdown::MAX_CHARS, "{length} characters");
    assert!(
        length > markdown::MAX_CHARS - 5_000,
        "the comment should use the room it has: {length} characters"
    );
    assert!(comment.contains("left out to stay under GitHub's 65,536-character comment limit"));
    assert!(
        comment.contains("| customer-300 |"),
        "every customer is in the table"
    );
    assert_no_token_links(&comment);
    let head: Vec<&str> = comment.lines().take(12).collect();
    insta::assert_snapshot!(head.join("\n"));
}

#[test]
fn each_tier_says_what_it_left_out() {
    let plan = onboarding();
    let budget = budget(&plan);
    let ctx = context(false);
    let full = markdown::render_with_limit(&plan, &budget, &ctx, usize::MAX);
    let full_length = full.chars().count();
    let mut tiers = String::new();
    for limit in [full_length, full_length - 1, 1_600, 900, 600] {
        let comment = markdown::render_with_limit(&plan, &budget, &ctx, limit);
        let length = comment.chars().count();
        assert!(
            length <= limit,
            "{length} characters over a limit of {limit}"
        );
        let note = comment
            .lines()
            .find(|line| line.starts_with("> ") && !line.contains("[!NOTE]"))
            .unwrap_or("(nothing left out)");
        let listed = comment
            .lines()
            .find(|line| line.starts_with("**") && line.contains(" of "))
            .unwrap_or("");
        tiers.push_str(format!("limit {limit}: {note} {listed}").trim_end());
        tiers.push('\n');
    }
    insta::assert_snapshot!(tiers);
    insta::assert_snapshot!(
        "onboarding_markdown_field_names",
        markdown::render_with_limit(&plan, &budget, &ctx, full_length - 1)
    );
    let tiny = markdown::render_with_limit(&plan, &budget, &ctx, 100);
    assert!(
        tiny.chars().count() <= 100,
        "the cap holds even when nothing fits"
    );
}

#[test]
fn names_cannot_break_the_comment() {
    let mut plan = onboarding();
    // The customer's own change is keyed by the customer's name: leave it out, so that the name
    // appears only where it is written as a name.
    plan.changes
        .retain(|change| change.kind() != Kind::Customer);
    for change in &mut plan.changes {
        change.customer = "acme|<b>`@team`</b>".to_owned();
    }
    let recipe = plan
        .changes
        .iter_mut()
        .find(|change| change.kind() == Kind::Recipe)
        .expect("the onboarding starts a recipe");
    recipe.subject = subject_of(Kind::Recipe, "files-sync/```\n</details>");
    plan.pending_users.clear();
    let comment = rendered(&plan, Format::Markdown);
    assert!(!comment.contains("<b>`"), "{comment}");
    assert!(!comment.contains("@team"), "{comment}");
    assert!(
        comment.contains("acme&#124;&lt;b&gt;&#96;&#64;team&#96;&lt;/b&gt;"),
        "{comment}"
    );
    assert_eq!(
        comment.matches("</details>").count(),
        comment.matches("<details>").count() + 1,
        "only the one inside a fenced code block is extra:\n{comment}"
    );
    assert!(comment.contains("````diff\n"), "a longer fence:\n{comment}");
}

#[test]
fn a_link_with_a_token_never_reaches_the_comment() {
    let mut plan = unmanaged();
    plan.notes.push(Note {
        customer: None,
        message: "end user `user-a`: https://app.example/widget?token=eyJhbGciOi authorize here"
            .to_owned(),
    });
    let comment = rendered(&plan, Format::Markdown);
    assert!(comment.contains("(link withheld)"), "{comment}");
    assert_no_token_links(&comment);
}

/// Fails when any `http(s)://` link in `output` mentions `token`.
#[track_caller]
fn assert_no_token_links(output: &str) {
    let lower = output.to_ascii_lowercase();
    for (start, _) in lower.match_indices("http") {
        let link: String = lower[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        if link.starts_with("http://") || link.starts_with("https://") {
            assert!(!link.contains("token"), "a link with a token: {link}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The JSON Schema

fn schema_path() -> std::path::PathBuf {
    repo_root().join("schemas/plan.schema.json")
}

/// The committed schema equals the one generated from the renderer's types. With
/// `EMBEDCTL_UPDATE_SCHEMA=1` the test writes it instead.
#[test]
fn committed_plan_schema_is_current() {
    let generated = embedctl::render::json::plan_schema();
    if std::env::var_os("EMBEDCTL_UPDATE_SCHEMA").is_some() {
        std::fs::write(schema_path(), &generated).expect("schemas/plan.schema.json is writable");
    }
    let committed = std::fs::read_to_string(schema_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/plan.schema.json is stale; regenerate it with\n\n    EMBEDCTL_UPDATE_SCHEMA=1 cargo test --test it render::committed_plan_schema_is_current\n"
    );
}

#[test]
fn json_plans_match_the_committed_schema() {
    for (name, plan) in scenarios() {
        assert_conforms(&rendered(&plan, Format::Json), name);
    }
    assert_conforms(&rendered(&many_customers(30), Format::Json), "many");
}

#[test]
fn the_schema_rejects_what_the_format_forbids() {
    let mut document: Value =
        serde_json::from_str(&rendered(&blocked_changes(), Format::Json)).expect("JSON");
    document["blocked"][0]["reason"] = json!("recipe.on_fire");
    document["changes"][0]["phase"] = json!(5);
    if let Some(entry) = document["blocked"][1].as_object_mut() {
        entry.remove("blocked_by");
    }
    let errors: Vec<String> = validator()
        .iter_errors(&document)
        .map(|error| error.instance_path().to_string())
        .collect();
    assert_eq!(
        errors,
        ["/blocked/0/reason", "/blocked/1", "/changes/0/phase"],
        "unexpected validation errors"
    );
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let text = std::fs::read_to_string(schema_path()).expect("schemas/plan.schema.json exists");
        let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .expect("the schema compiles")
    })
}

#[track_caller]
fn assert_conforms(json: &str, name: &str) {
    let document: Value = serde_json::from_str(json).expect("the JSON plan parses");
    let problems: Vec<String> = validator()
        .iter_errors(&document)
        .map(|error| format!("at `{}`: {error}", error.instance_path()))
        .collect();
    assert!(
        problems.is_empty(),
        "{name}: the JSON plan does not match schemas/plan.schema.json:\n  {}",
        problems.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// End users at scale

/// `customers` customers with `users` end users each, every one pending on the plain Dropbox
/// connection and its "Get file" connection: nothing for apply to do.
fn fleet_of_pending_users(customers: usize, users: usize) -> Plan {
    let mut plan = Plan::default();
    for c in 1..=customers {
        let customer = format!("customer-{c:04}");
        for u in 1..=users {
            let user = format!("user-{u:03}");
            for function in [None, Some("Get file")] {
                plan.pending_users.push(pending(
                    &customer,
                    &user,
                    "files-sync.dropbox",
                    function,
                    Some((c * 1_000 + u) as u64),
                ));
            }
        }
    }
    plan
}

#[test]
fn a_customer_with_many_pending_end_users_lists_twenty_then_a_count() {
    let plan = fleet_of_pending_users(1, 23);
    let text = rendered(&plan, Format::Text);
    insta::assert_snapshot!("pending_users_capped_text", text);
    let all = render(
        &plan,
        &budget(&plan),
        &RenderContext {
            listing: Listing {
                every_pending: true,
                ..Listing::default()
            },
            ..context(false)
        },
        Format::Text,
    );
    assert_eq!(all.matches("has to authorize").count(), 46, "{all}");
    assert!(!all.contains("more end users"), "{all}");
}

#[test]
fn a_fleet_of_pending_end_users_fits_in_a_ci_log() {
    // 1,000 customers × 100 end users × 2 connections: 200,000 entries, every one in JSON, at
    // most twenty end users per customer and connection in text and Markdown.
    let plan = fleet_of_pending_users(1_000, 100);
    let text = rendered(&plan, Format::Text);
    let lines = text.lines().count();
    assert_eq!(text.matches("has to authorize").count(), 1_000 * 20 * 2);
    assert_eq!(
        text.matches(
            "and 80 more end users of files-sync.dropbox pending (--show-pending lists them all)"
        )
        .count(),
        1_000
    );
    assert!(
        text.ends_with("No changes. Workato matches the file; 100,000 end users pending.\n"),
        "{}",
        &text[text.len().saturating_sub(300)..]
    );
    println!("text: {lines} lines, {} bytes", text.len());
    let json: serde_json::Value =
        serde_json::from_str(&rendered(&plan, Format::Json)).expect("JSON");
    assert_eq!(
        json["pending_users"].as_array().map(Vec::len),
        Some(200_000)
    );
    let comment = rendered(&plan, Format::Markdown);
    assert!(comment.chars().count() <= embedctl::render::markdown::MAX_CHARS);
    use embedctl::render::drift::{DriftClass, text as drift_text};
    let drift = drift_text(&plan, DriftClass::of(&plan), Listing::default());
    assert!(drift.starts_with("No drift; end users still have to authorize"));
    assert_eq!(
        drift.lines().filter(|l| l.contains("  user-")).count(),
        1_000 * 20 * 2
    );
    assert_eq!(drift.matches("and 80 more end users").count(), 1_000);
    let everyone = drift_text(
        &plan,
        DriftClass::of(&plan),
        Listing {
            every_pending: true,
            ..Listing::default()
        },
    );
    assert_eq!(
        everyone.lines().filter(|l| l.contains("  user-")).count(),
        200_000
    );
}

#[test]
fn a_plan_longer_than_a_ci_job_suggests_max_duration_in_text_and_markdown() {
    // 3,000 customers onboarding: their imports alone take more than 6 hours at the hourly cap.
    let plan = many_customers(3_000);
    let budget = budget(&plan);
    assert!(budget.min_seconds > 6 * 3_600, "{budget:?}");
    for format in [Format::Text, Format::Markdown] {
        let output = rendered(&plan, format);
        assert_eq!(
            output
                .matches("`embedctl apply --max-duration 5h30m`")
                .count(),
            1,
            "{format:?}: {}",
            &output[output.len().saturating_sub(1_500)..]
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&rendered(&plan, Format::Json)).expect("JSON");
    assert_eq!(json["api_budget"]["min_seconds"], budget.min_seconds);
    assert!(json["api_budget"]["setup_seconds"].as_u64() < Some(budget.min_seconds));
    // A short apply says nothing of the kind.
    assert!(!rendered(&onboarding(), Format::Text).contains("--max-duration"));
}

// ---------------------------------------------------------------------------------------------
// Changes at scale

/// `customers` customers with `users` end users each, every one with a runtime connection of
/// files-sync.dropbox to create.
fn fleet_of_runtime_creates(customers: usize, users: usize) -> Plan {
    let mut plan = Plan::default();
    for c in 1..=customers {
        let customer = format!("customer-{c:04}");
        for u in 1..=users {
            let user = format!("user-{u:03}");
            plan.changes.push(change(
                &customer,
                4,
                Action::Create,
                Kind::RuntimeConnection,
                &format!("files-sync.dropbox/{user}"),
                Reason::RuntimeConnectionMissing,
                (
                    Value::Null,
                    json!({
                        "name": format!("Dropbox - {user}"),
                        "provider": "dropbox",
                        "external_id": user,
                        "parent_id": null,
                    }),
                ),
            ));
        }
    }
    plan
}

/// One customer with 23 runtime connections to create and 22 blocked for one reason, another with
/// 23 blocked for two reasons: each group lists twenty, then a count.
fn collapsed() -> Plan {
    let mut plan = fleet_of_runtime_creates(1, 23);
    let gate = "integration setup is in progress: recipe \"List files\" cannot start: connection \"PartnerApp\" has no credentials";
    let other = "integration setup is in progress: recipe \"List files\" was stopped by Workato (`trial_expired`)";
    for (customer, users, reasons) in [
        ("customer-0001", 22, [gate, gate]),
        ("customer-0002", 23, [gate, other]),
    ] {
        for change in fleet_of_runtime_creates(1, users).changes {
            let mut change = blocked(change, reasons[plan.blocked.len() % 2]);
            change.customer = customer.to_owned();
            change.reason = Reason::GateClosed;
            plan.blocked.push(change);
        }
    }
    plan
}

#[test]
fn alike_changes_list_twenty_per_customer_then_a_count() {
    let plan = collapsed();
    let text = rendered(&plan, Format::Text);
    insta::assert_snapshot!("collapsed_text", text);
    insta::assert_snapshot!("collapsed_markdown", rendered(&plan, Format::Markdown));
    use embedctl::render::drift::{DriftClass, text as drift_text};
    insta::assert_snapshot!(
        "collapsed_drift",
        drift_text(&plan, DriftClass::of(&plan), Listing::default())
    );
    assert!(
        text.contains("    + 3 more runtime connections of files-sync.dropbox to create\n"),
        "{text}"
    );
    // The summary counts what is not listed too.
    assert!(
        text.ends_with("Plan: 23 to create, 0 to update, 0 to delete; 45 blocked.\n"),
        "{text}"
    );
    let json: Value = serde_json::from_str(&rendered(&plan, Format::Json)).expect("JSON");
    assert_eq!(json["changes"].as_array().map(Vec::len), Some(23));
    assert_eq!(json["blocked"].as_array().map(Vec::len), Some(45));

    let verbose = RenderContext {
        listing: Listing {
            every_change: true,
            every_pending: true,
        },
        ..context(false)
    };
    for format in [Format::Text, Format::Markdown] {
        let everything = render(&plan, &budget(&plan), &verbose, format);
        assert_eq!(
            everything.matches("create runtime connection").count(),
            23 + 45,
            "{everything}"
        );
        assert!(
            !everything.contains(" more runtime connections"),
            "{everything}"
        );
        assert!(!everything.contains("--verbose"), "{everything}");
    }
}

#[test]
fn a_fleet_of_runtime_connection_creates_fits_in_a_ci_log() {
    // 1,000 customers × 100 end users, each a runtime connection to create: every change in
    // JSON, twenty per customer in text (with their three field lines), then a count.
    let plan = fleet_of_runtime_creates(1_000, 100);
    let text = rendered(&plan, Format::Text);
    let listed = 20 * (1 + 3);
    let per_customer = 1 + 1 + listed + 1 + 1; // heading, phase, changes, count, blank line
    // The calls read, the note on counts, the budget, its warning (more than 6 hours of writes),
    // the summary.
    let footer = 5;
    assert_eq!(
        text.lines().count(),
        1_000 * per_customer + footer,
        "{}",
        &text[..3_000]
    );
    assert_eq!(text.matches("create runtime connection").count(), 20_000);
    assert_eq!(
        text.matches("    + 80 more runtime connections of files-sync.dropbox to create\n")
            .count(),
        1_000
    );
    assert!(
        text.ends_with("Plan: 100,000 to create, 0 to update, 0 to delete.\n"),
        "{}",
        &text[text.len().saturating_sub(500)..]
    );
    let json: Value = serde_json::from_str(&rendered(&plan, Format::Json)).expect("JSON");
    assert_eq!(json["changes"].as_array().map(Vec::len), Some(100_000));
    assert_eq!(json["summary"]["create"], 100_000);
    let comment = rendered(&plan, Format::Markdown);
    assert!(comment.chars().count() <= markdown::MAX_CHARS);
    use embedctl::render::drift::{DriftClass, text as drift_text};
    let drift = drift_text(&plan, DriftClass::of(&plan), Listing::default());
    // The headline, twenty changes and a count per customer, the note on counts.
    assert_eq!(
        drift.lines().count(),
        1 + 1_000 * 21 + 1,
        "{}",
        &drift[..2_000]
    );
    assert!(drift.starts_with("Drift: apply would make 100,000 changes; 0 blocked.\n"));
}
