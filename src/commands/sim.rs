//! `embedctl sim serve`: the simulator on a loopback port, until SIGINT or SIGTERM.

use std::io::Write;

use crate::cli::{ExitStatus, SimServeArgs};
use crate::sim::{SimOptions, Simulator};

/// Serves the simulator; prints its base URL first, saves the state on shutdown.
pub fn serve(args: &SimServeArgs) -> ExitStatus {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitStatus::Failure;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: &SimServeArgs) -> ExitStatus {
    let account = match &args.state {
        Some(path) => match Simulator::load_state(path) {
            Ok(account) => account,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitStatus::Failure;
            }
        },
        None => Default::default(),
    };
    let options = SimOptions {
        time_scale: args.time_scale,
        latency: std::time::Duration::from_millis(args.latency_ms),
        fail_rate: args.fail_rate,
        ..SimOptions::default()
    };
    let simulator = Simulator::new(account, options);
    simulator.set_faults(|faults| {
        for (family, count) in &args.drop_after_commit {
            faults.drop_after_commit.insert(family.clone(), *count);
        }
        for (family, count) in &args.echo_request_in_errors {
            faults.echo_request_in_errors.insert(family.clone(), *count);
        }
    });
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on 127.0.0.1:{}: {error}", args.port);
            return ExitStatus::Failure;
        }
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => {
            eprintln!("error: cannot read the listening address: {error}");
            return ExitStatus::Failure;
        }
    };
    println!("http://{address}/api");
    let _ = std::io::stdout().flush();
    eprintln!(
        "embedctl simulator listening on http://{address}/api (any bearer token; test routes under http://{address}/__sim/); Ctrl-C to stop"
    );
    if let Err(error) = simulator.serve(listener, super::interrupt_signal()).await {
        eprintln!("error: the simulator stopped: {error}");
        return ExitStatus::Failure;
    }
    if let Some(path) = &args.state {
        if let Err(error) = simulator.save_state(path) {
            eprintln!("error: {error}");
            return ExitStatus::Failure;
        }
        eprintln!("saved the simulator state to `{}`", path.display());
    }
    ExitStatus::Success
}
