//! `embedctl links`: connection-widget links for the end users of one customer who still have
//! to authorize a runtime user connection.
//!
//! Which connections is the plan's answer (`pending_users`, and the phase-4 creates it blocks);
//! `--create-missing` first carries out the plan's creates of those end users' missing
//! connections with apply's own code, then plans again. The links go to stdout and nowhere
//! else: not to stderr, not into an error, a plan or a state file.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::apply::{ApplyEvent, ApplyOptions, IMPORT_TIMEOUT, SkipKind, apply};
use crate::cli::{ExitStatus, LinksArgs, LinksFormat};
use crate::links::{LinkMaker, SigningKey, web_base_of};
use crate::plan::{Action, Change, PendingStatus, PendingUser, Plan, Reason, Subject};
use crate::render::printable;

use super::session::{Observed, RunOptions, Stop, prepare};

/// Runs the links command.
pub fn run(args: &LinksArgs) -> ExitStatus {
    super::block_on(execute(args))
}

async fn execute(args: &LinksArgs) -> ExitStatus {
    let customers = [args.customer.clone()];
    let options = RunOptions {
        file: &args.file,
        target: &args.target,
        customers: &customers,
        need_all_credentials: false,
    };
    // Everything the user can get wrong is checked before the first request.
    if args.create_missing
        && let Some(state) = &args.target.sim
        && let Err(message) = super::check_state_writable(state)
    {
        return super::fail(&message);
    }
    let prepared = match prepare(&options) {
        Ok(prepared) => prepared,
        Err(Stop(message)) => return super::fail(&message),
    };
    if let Err(message) = check_users(args, &prepared.desired) {
        return super::fail(&message);
    }
    let Some(vendor_id) = prepared.vendor_id.clone() else {
        return super::fail(&format!(
            "connection-widget links need the Embedded vendor id: set `workato.vendor_id` in `{}` \
             (Workato gives it with the JWT signing key of your account)",
            args.file.display()
        ));
    };
    let key = match SigningKey::load(prepared.settings.jwt_private_key.as_ref()) {
        Ok(key) => key,
        Err(error) => return super::fail(&error.to_string()),
    };
    prepared.secrets.add_all(key.secret_texts());

    let mut observed = match prepared.observe(&customers).await {
        Ok(observed) => observed,
        Err(Stop(message)) => return super::fail(&message),
    };
    let web_base = match web_base_of(observed.client.base_url()) {
        Ok(web_base) => web_base,
        Err(message) => {
            observed.finish().await;
            return super::fail(&message);
        }
    };
    let maker = LinkMaker::new(key, vendor_id, web_base, args.origin.clone());
    let status = links(args, &mut observed, &maker).await;
    observed.finish().await;
    status
}

/// Every `--user` must be one of the customer's runtime users.
fn check_users(args: &LinksArgs, desired: &crate::desired::Desired) -> Result<(), String> {
    let customer = desired
        .customers
        .iter()
        .find(|c| c.external_id == args.customer)
        .ok_or_else(|| {
            format!(
                "`--customer {}`: no customer with that `external_id` in `{}`",
                args.customer,
                args.file.display()
            )
        })?;
    for user in &args.users {
        if !customer.runtime_users.iter().any(|u| &u.id == user) {
            return Err(format!(
                "`--user {user}`: `{}` has no runtime user with that `id` in `{}`",
                args.customer,
                args.file.display()
            ));
        }
    }
    Ok(())
}

/// One connection an end user still has to authorize, with its link or why it has none. Not
/// `Debug`: the link holds a token, which goes to stdout only.
#[derive(Serialize)]
struct LinkEntry {
    user: String,
    /// `<manifest>.<connection>`.
    connection: String,
    recipe_function: Option<String>,
    connection_id: Option<u64>,
    url: Option<String>,
    /// The connection does not exist in Workato yet.
    missing: bool,
    /// This run created the connection (`--create-missing`).
    created: bool,
    /// Why the end user has to act: never connected, authorization failed, or replaced.
    status: PendingStatus,
    /// What Workato says went wrong, when the authorization failed.
    authorization_error: Option<String>,
    /// Why there is no link; `null` when there is one.
    no_link_because: Option<String>,
}

impl LinkEntry {
    /// `files-sync.dropbox`, or `files-sync.dropbox (Get file)` for a recipe function's.
    fn label(&self) -> String {
        match &self.recipe_function {
            Some(function) => format!("{} ({function})", self.connection),
            None => self.connection.clone(),
        }
    }
}

/// What `--format json` prints.
#[derive(Serialize)]
struct LinksDocument<'a> {
    format_version: &'static str,
    customer: &'a str,
    customer_id: u64,
    links: &'a [LinkEntry],
}

/// The end user, connection and function a runtime connection is about.
type ConnectionKey = (String, String, Option<String>);

fn key_of_change(change: &Change) -> Option<ConnectionKey> {
    match &change.subject {
        Subject::RuntimeConnection {
            manifest,
            connection,
            user,
            function,
        } => Some((
            user.clone(),
            format!("{manifest}.{connection}"),
            function.clone(),
        )),
        _ => None,
    }
}

fn key_of_pending(pending: &PendingUser) -> ConnectionKey {
    (
        pending.user.clone(),
        pending.connection.clone(),
        pending.recipe_function.clone(),
    )
}

/// Whether `--user` selects end user `user` (no `--user`: everyone).
fn selected(args: &LinksArgs, user: &str) -> bool {
    args.users.is_empty() || args.users.iter().any(|u| u == user)
}

/// What `--create-missing` did.
#[derive(Default)]
struct Creation {
    /// The connections it set out to create.
    attempted: BTreeSet<ConnectionKey>,
    /// Why a connection was not created, by the change's display key.
    not_created: BTreeMap<String, String>,
    /// Apply failed, skipped or blocked something.
    failed: bool,
}

async fn links(args: &LinksArgs, observed: &mut Observed, maker: &LinkMaker) -> ExitStatus {
    let customer = args.customer.as_str();
    if let Some(skipped) = observed
        .plan
        .skipped
        .iter()
        .find(|s| s.customer == customer)
    {
        return super::fail(&format!("`{customer}` is skipped: {}", skipped.why));
    }
    if !observed.live.customers.contains_key(customer) {
        return super::fail(&format!(
            "customer `{customer}` does not exist in Workato yet, so neither do its end users' \
             connections: run `embedctl apply --customer {customer}` first"
        ));
    }
    let mut creation = Creation::default();
    if args.create_missing {
        match create_missing(args, observed).await {
            Ok(done) => creation = done,
            Err(Stop(message)) => return super::fail(&message),
        }
    }
    let Some(customer_id) = observed.live.customers.get(customer).map(|c| c.id) else {
        return super::fail(&format!("customer `{customer}` is no longer in Workato"));
    };
    let mut entries = entries_of(args, &observed.plan, &creation);
    let order: BTreeMap<&str, usize> = observed
        .desired
        .customers
        .iter()
        .filter(|c| c.external_id == customer)
        .flat_map(|c| c.runtime_users.iter().enumerate())
        .map(|(index, user)| (user.id.as_str(), index))
        .collect();
    entries.sort_by(|a, b| {
        let rank = |entry: &LinkEntry| order.get(entry.user.as_str()).copied();
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.connection.cmp(&b.connection))
            .then_with(|| a.recipe_function.cmp(&b.recipe_function))
    });
    // Links are made last, after every request: a token never travels anywhere but stdout.
    for entry in &mut entries {
        if let Some(connection_id) = entry.connection_id {
            match maker.link(customer_id, connection_id) {
                Ok(url) => entry.url = Some(url),
                Err(error) => return super::fail(&error.to_string()),
            }
        }
    }
    let output = match args.format {
        LinksFormat::Json => {
            let document = LinksDocument {
                format_version: crate::plan::FORMAT_VERSION,
                customer,
                customer_id,
                links: &entries,
            };
            match serde_json::to_string_pretty(&document) {
                Ok(text) => text + "\n",
                Err(error) => return super::fail(&format!("cannot write the links: {error}")),
            }
        }
        LinksFormat::Text => text(customer, &args.users, &entries),
    };
    if anstream::stdout().write_all(output.as_bytes()).is_err() {
        return ExitStatus::Failure;
    }
    let without_link = entries.iter().filter(|e| e.url.is_none()).count();
    if args.create_missing && (creation.failed || without_link > 0) {
        return super::fail(&format!(
            "{} without a link: {}",
            crate::desired_file::plural(without_link, "connection", "connections"),
            if creation.failed {
                "not every missing connection could be created (see above)"
            } else {
                "see why beside each one"
            }
        ));
    }
    ExitStatus::Success
}

/// `--create-missing`: carries out the plan's creates of the selected end users' missing
/// connections, exactly as apply's phase 4 does (the gate read live first), saves the simulated
/// account under `--sim`, and plans again so that the new connections have their ids.
async fn create_missing(args: &LinksArgs, observed: &mut Observed) -> Result<Creation, Stop> {
    let creates: Vec<Change> = observed
        .plan
        .changes
        .iter()
        .filter(|change| {
            change.customer == args.customer
                && change.phase == 4
                && change.action == Action::Create
                && change.reason == Reason::RuntimeConnectionMissing
                && key_of_change(change).is_some_and(|(user, _, _)| selected(args, &user))
                // What the layers below must create first is apply's work.
                && change.target.customer_id.is_some()
                && change.target.folder_id.is_some()
        })
        .cloned()
        .collect();
    let mut creation = Creation {
        attempted: creates.iter().filter_map(key_of_change).collect(),
        ..Creation::default()
    };
    if creates.is_empty() {
        return Ok(creation);
    }
    eprintln!(
        "Creating {} for `{}`.",
        crate::desired_file::plural(creates.len(), "runtime connection", "runtime connections"),
        args.customer
    );
    let not_created = Arc::new(Mutex::new(BTreeMap::new()));
    let secrets = observed.client.secrets().clone();
    let record = Arc::clone(&not_created);
    let on_event: Arc<dyn Fn(&ApplyEvent) + Send + Sync> = Arc::new(move |event: &ApplyEvent| {
        let event = event.redacted(&secrets);
        match &event {
            ApplyEvent::ApplyStart { .. }
            | ApplyEvent::ChangeStart { .. }
            | ApplyEvent::Summary(_) => return,
            ApplyEvent::ChangeFailed { key, error, .. } => {
                if let Ok(mut map) = record.lock() {
                    map.insert(key.clone(), format!("creating it failed: {error}"));
                }
            }
            ApplyEvent::ChangeSkipped {
                key,
                cause,
                because,
                ..
            } => {
                let why = match because {
                    SkipKind::GateClosed => format!(
                        "not created: the customer's integration is not set up yet ({cause}); \
                         run `embedctl apply`"
                    ),
                    SkipKind::FailedDependency => format!("not created: {cause}"),
                };
                if let Ok(mut map) = record.lock() {
                    map.insert(key.clone(), why);
                }
            }
            _ => {}
        }
        let _ = writeln!(anstream::stderr(), "{}", event.line());
    });
    let reduced = Plan {
        changes: creates,
        ..Plan::default()
    };
    let options = ApplyOptions {
        deadline: None,
        interrupted: Default::default(),
        desired: observed.desired.clone(),
        // Runtime connections are created as shells: no credentials are sent.
        inputs: BTreeMap::new(),
        fingerprint_key: String::new(),
        import_timeout: IMPORT_TIMEOUT,
        // Nothing is imported here; the interval is never waited.
        poll_interval: Duration::from_secs(2),
        on_event,
    };
    let outcome = apply(&observed.client, reduced, options).await;
    creation.failed = outcome.is_failure() || outcome.blocked > 0;
    if let Ok(map) = not_created.lock() {
        creation.not_created = map.clone();
    }
    if let (Some(path), Some(running)) = (&args.target.sim, &observed.simulator) {
        // Saved whatever happened, as `apply --sim` does: the simulated account is what it is.
        running
            .simulator()
            .save_state(path)
            .map_err(|error| Stop(error.to_string()))?;
    }
    observed
        .refresh(std::slice::from_ref(&args.customer))
        .await?;
    Ok(creation)
}

/// The selected end users' connections still to authorize, from the plan, without links yet.
fn entries_of(args: &LinksArgs, plan: &Plan, creation: &Creation) -> Vec<LinkEntry> {
    let changes: BTreeMap<ConnectionKey, &Change> = plan
        .changes
        .iter()
        .filter(|change| change.customer == args.customer)
        .filter_map(|change| key_of_change(change).map(|key| (key, change)))
        .collect();
    let mut entries = Vec::new();
    for pending in plan
        .pending_users
        .iter()
        .filter(|p| p.customer == args.customer && selected(args, &p.user))
    {
        let key = key_of_pending(pending);
        let created = creation.attempted.contains(&key) && pending.connection_id.is_some();
        let (missing, no_link_because) = match pending.connection_id {
            Some(_) => (false, None),
            None => {
                let change = changes.get(&key).copied();
                why_no_connection(change, &creation.not_created)
            }
        };
        entries.push(LinkEntry {
            user: pending.user.clone(),
            connection: pending.connection.clone(),
            recipe_function: pending.recipe_function.clone(),
            connection_id: pending.connection_id,
            url: None,
            missing,
            created,
            status: pending.status,
            authorization_error: pending.authorization_error.clone(),
            no_link_because,
        });
    }
    // A missing connection whose create the plan blocks is not pending yet, but its end user
    // has nothing to open either: listed, with the reason.
    for blocked in plan.blocked.iter().filter(|change| {
        change.customer == args.customer && change.phase == 4 && change.action == Action::Create
    }) {
        let Some((user, connection, recipe_function)) = key_of_change(blocked) else {
            continue;
        };
        if !selected(args, &user) {
            continue;
        }
        let why = blocked.blocked_by.as_deref().unwrap_or("blocked");
        entries.push(LinkEntry {
            user,
            connection,
            recipe_function,
            connection_id: None,
            url: None,
            missing: true,
            created: false,
            status: PendingStatus::NeverConnected,
            authorization_error: None,
            no_link_because: Some(format!(
                "the connection does not exist yet and cannot be created now: {why}"
            )),
        });
    }
    entries
}

/// Why a pending end user's connection has no id: (whether it is missing, the reason).
fn why_no_connection(
    change: Option<&Change>,
    not_created: &BTreeMap<String, String>,
) -> (bool, Option<String>) {
    let Some(change) = change else {
        return (
            true,
            Some("the connection does not exist yet: run `embedctl apply`".to_owned()),
        );
    };
    if let Some(why) = not_created.get(&change.key()) {
        return (true, Some(why.clone()));
    }
    let manifest = change.subject.manifest().unwrap_or_default();
    let why = match change.action {
        Action::Replace => {
            return (
                false,
                Some(
                    "Workato has this connection with the wrong parent, and `embedctl apply` \
                     replaces it: run apply first"
                        .to_owned(),
                ),
            );
        }
        _ if change.target.folder_id.is_none() => format!(
            "the connection does not exist yet, nor does the folder of manifest `{manifest}`: \
             run `embedctl apply`"
        ),
        _ if change.target.provider.is_none() => format!(
            "the connection does not exist yet, nor does the connector of manifest `{manifest}` \
             in this workspace (its package is not imported): run `embedctl apply`"
        ),
        _ => "the connection does not exist yet: run `embedctl apply`, or `embedctl links \
              --create-missing`"
            .to_owned(),
    };
    (true, Some(why))
}

/// The text output: a heading, then one line per connection (end user, connection, link or why
/// there is none), grouped by end user.
fn text(customer: &str, users: &[String], entries: &[LinkEntry]) -> String {
    let whom = if users.is_empty() {
        "end users"
    } else {
        "selected end users"
    };
    if entries.is_empty() {
        return format!(
            "`{customer}`: no connection of its {whom} waits for authorization; no link to make.\n"
        );
    }
    let people: BTreeSet<&str> = entries.iter().map(|e| e.user.as_str()).collect();
    let linked = entries.iter().filter(|e| e.url.is_some()).count();
    let mut out = format!(
        "`{customer}`: {} of {} to authorize",
        crate::desired_file::plural(entries.len(), "connection", "connections"),
        crate::desired_file::plural(people.len(), "end user", "end users"),
    );
    if linked < entries.len() {
        out.push_str(&format!(", {} without a link", entries.len() - linked));
    }
    out.push_str(".\n");
    // Widths of the text as printed: control characters are shown escaped.
    let user_width = entries
        .iter()
        .map(|e| printable(&e.user).chars().count())
        .max()
        .unwrap_or(0);
    let labels: Vec<String> = entries
        .iter()
        .map(|e| printable(&e.label()).into_owned())
        .collect();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut previous: Option<&str> = None;
    for (entry, label) in entries.iter().zip(&labels) {
        if previous.is_some_and(|user| user != entry.user) {
            out.push('\n');
        }
        previous = Some(&entry.user);
        let target = match (&entry.url, &entry.no_link_because) {
            (Some(url), _) => url.clone(),
            (None, Some(why)) => format!("(no link: {why})"),
            (None, None) => "(no link)".to_owned(),
        };
        // Someone who connected before is told why they are asked again.
        let again = match (entry.status, &entry.authorization_error) {
            (PendingStatus::AuthorizationFailed, Some(error)) => {
                format!("  (connected before: {})", printable(error))
            }
            (PendingStatus::AuthorizationFailed, None) => "  (connected before)".to_owned(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "\n{:<user_width$}  {:<label_width$}  {target}{again}",
            printable(&entry.user),
            label
        ));
    }
    out.push_str(
        "\n\nEach link holds a token for one use: make links when the page that shows the \
         widget loads, never ahead of time.\n",
    );
    out
}
