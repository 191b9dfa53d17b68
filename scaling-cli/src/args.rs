//! The command line (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Deploy a containerized web app — first of all a Plotly Dash app — to N replicas behind an HTTPS load
/// balancer on your own domain, in one command: on AWS (ECS Fargate, ALB, Route 53, ACM) or on this
/// machine.
#[derive(Debug, Parser)]
#[command(
    name = "scaling",
    version,
    propagate_version = true,
    after_help = "Example:\n  scaling init && scaling deploy --provider local"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The config file.
    #[arg(long, global = true, default_value = "scaling.toml", env = "SCALING_CONFIG")]
    pub config: PathBuf,
    /// The provider; overrides `[provider] default` in the config.
    #[arg(long, global = true, value_enum)]
    pub provider: Option<ProviderArg>,
    /// Output format: human text, or JSON (one event per line while working, then one result).
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// More logging on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No colors or live progress (also when NO_COLOR is set or stdout is not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// The environment: a separate copy of the app from the config's `[environments.NAME]` table,
    /// with names, tags, host names and ports of its own.
    #[arg(long = "env", global = true, env = "SCALING_ENV", value_name = "NAME")]
    pub environment: Option<String>,
    /// Break the app's deploy lock before taking it: only when the run holding it was killed (deploy,
    /// scale and destroy take the lock; a second one is refused, naming who holds it).
    #[arg(long, global = true)]
    pub break_lock: bool,
    /// AWS: the named profile of your AWS config (credentials always come from the default chain).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// AWS: the region; overrides the config file and AWS_REGION.
    #[arg(long, global = true)]
    pub region: Option<String>,
}

/// A provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderArg {
    /// This machine: processes, an embedded HTTPS load balancer, a local CA.
    Local,
    /// AWS: ECR, ECS Fargate, ALB, Route 53, ACM.
    Aws,
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Text for people.
    Text,
    /// JSON for programs (shapes in docs/CLI.md).
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented scaling.toml for the app in this folder.
    #[command(after_help = "Example:\n  cd my-dash-app && scaling init")]
    Init {
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
        /// The app name (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Check the config and print every problem with its field and fix (exit 2 on any).
    #[command(after_help = "Example:\n  scaling validate --config examples/dashmath/scaling.toml")]
    Validate,
    /// Show what deploy would create, change or delete, and why.
    #[command(after_help = "Example:\n  scaling plan --provider aws")]
    Plan {
        /// Use this prebuilt image instead of building (pin it by digest: repo@sha256:…).
        #[arg(long)]
        image: Option<String>,
    },
    /// Build and push the image, then create or update everything; prints the URLs.
    #[command(
        after_help = "Examples:\n  scaling deploy --provider local      # runs here until Ctrl-C\n  scaling deploy --provider aws --image 123.dkr.ecr.us-west-2.amazonaws.com/app-repository@sha256:…"
    )]
    Deploy {
        /// Use this prebuilt image instead of building (pin it by digest: repo@sha256:…).
        #[arg(long)]
        image: Option<String>,
        /// Wait until the load balancer is active and the service stable (the default).
        #[arg(long, conflicts_with = "no_wait")]
        wait: bool,
        /// Return once requested, without waiting for the load balancer and the service to be ready.
        #[arg(long)]
        no_wait: bool,
        /// Local provider: keep serving in the background and return once healthy.
        #[arg(long)]
        detach: bool,
        /// Where a detached deploy reports that it is up (internal).
        #[arg(long, hide = true)]
        ready_file: Option<std::path::PathBuf>,
    },
    /// Show tasks, rollout, target health, certificate, URLs and DNS delegation.
    #[command(after_help = "Example:\n  scaling status --output json")]
    Status,
    /// List the kept releases (newest first): number, image digest, time, and which one runs.
    #[command(after_help = "Example:\n  scaling releases --output json")]
    Releases,
    /// Go back to an earlier release without a rebuild (by default the one before the running one).
    #[command(after_help = "Examples:\n  scaling rollback\n  scaling rollback --to 3")]
    Rollback {
        /// The release number, as `scaling releases` lists it.
        #[arg(long)]
        to: Option<u32>,
    },
    /// Show what the replicas wrote, interleaved by time and labelled by replica.
    #[command(after_help = "Examples:\n  scaling logs --since 10m\n  scaling logs -f --replica 2")]
    Logs {
        /// Keep printing new lines until Ctrl-C.
        #[arg(short, long)]
        follow: bool,
        /// Only lines of the last DURATION, e.g. `10m`, `2h`, `90s`.
        #[arg(long, value_parser = humantime::parse_duration)]
        since: Option<std::time::Duration>,
        /// Only this replica's lines (the label the lines carry: `3` locally, a task id on AWS).
        #[arg(long)]
        replica: Option<String>,
        /// At most this many lines first (the newest).
        #[arg(long, default_value_t = 200)]
        lines: usize,
    },
    /// Change the number of replicas without a full deploy.
    #[command(after_help = "Example:\n  scaling scale 6")]
    Scale {
        /// The new replica count.
        count: u32,
        /// Return at once instead of waiting for the new count to run.
        #[arg(long)]
        no_wait: bool,
    },
    /// Delete everything the app owns (asks first unless --yes); keeps the DNS zone, images and logs unless asked.
    #[command(after_help = "Example:\n  scaling destroy --yes --delete-images")]
    Destroy {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Also delete the DNS zone, when scaling created it.
        #[arg(long)]
        delete_zone: bool,
        /// Also delete the image repository and its images.
        #[arg(long)]
        delete_images: bool,
        /// Also delete the app's logs (the log group on AWS).
        #[arg(long)]
        delete_logs: bool,
    },
    /// Print the JSON Schema of scaling.toml (editors complete and check the file with it).
    #[command(after_help = "Example:\n  scaling schema > scaling.schema.json")]
    Schema,
    /// Print shell completions.
    #[command(after_help = "Example:\n  scaling completions bash > /etc/bash_completion.d/scaling")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}
