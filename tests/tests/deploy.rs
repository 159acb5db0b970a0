//! Checks of the deployment files: the compose file, the Dockerfile, the Prometheus config,
//! rules and Grafana dashboard, the Jenkinsfile, and the native stack run end to end. Each check
//! runs the real tool (docker-compose, promtool, groovy, influxd, prometheus) and fails, never
//! skips, when the tool is missing; scripts/test.sh installs them.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use dockerfile_parser::{Dockerfile, Instruction, ShellOrExecExpr};
use reactions_tests::{free_port, process, wait_until};
use serde_json::Value;

/// Metrics that ingest and query export on `/metrics`: the names the alert rules and the
/// dashboard may use. Histograms also export `_bucket`, `_sum` and `_count` series.
const COUNTERS_AND_GAUGES: &[&str] = &[
    "ingest_reactions_accepted_total",
    "ingest_reactions_rejected_total",
    "ingest_reactions_written_total",
    "ingest_reactions_dropped_total",
    "ingest_buffer_depth",
    "ingest_buffer_capacity",
    "ingest_store_writes_total",
    "ingest_store_write_retries_total",
    "ingest_ready",
    "ingest_http_requests_total",
    "query_http_requests_total",
    "query_cache_hits_total",
    "query_cache_misses_total",
    "query_store_errors_total",
    "query_ready",
    "process_resident_memory_bytes",
    "process_open_fds",
    "process_cpu_seconds_total",
    "process_threads",
];
const HISTOGRAMS: &[&str] = &[
    "ingest_batch_size_reactions",
    "ingest_store_write_duration_seconds",
    "ingest_http_request_duration_seconds",
    "query_http_request_duration_seconds",
    "query_store_query_duration_seconds",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo().join(relative))
        .unwrap_or_else(|error| panic!("cannot read {relative}: {error}"))
}

/// Runs a command to completion. A missing program fails the test with the package to install.
fn run(command: &mut Command, package: &str) -> Output {
    let program = command.get_program().to_string_lossy().into_owned();
    command.output().unwrap_or_else(|error| {
        panic!("cannot run {program} ({error}); install Debian's {package} package, as scripts/test.sh does")
    })
}

/// Runs a command, asserts that it exits 0 and returns its stdout.
fn run_ok(command: &mut Command, package: &str) -> String {
    let output = run(command, package);
    assert!(
        output.status.success(),
        "{command:?} failed with {}:\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Returns the port of the `[default: ADDRESS]` that `BINARY --help` shows for `--listen`.
fn default_listen_port(binary: &str) -> u16 {
    let help = run_ok(Command::new(process::binary(binary)).arg("--help"), "none");
    let listen = help
        .split("--listen")
        .nth(1)
        .unwrap_or_else(|| panic!("{binary} --help has no --listen flag:\n{help}"));
    let default = listen
        .split("[default: ")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("{binary} --listen shows no default:\n{help}"));
    port_of(default)
}

fn port_of(address: &str) -> u16 {
    address
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("{address:?} does not end in a port"))
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

/// Validates docker-compose.yml with docker-compose 1.29 and returns its resolved config.
fn compose_config() -> serde_yaml::Value {
    let mut command = Command::new("docker-compose");
    command
        .args(["--file", "docker-compose.yml", "config"])
        .current_dir(repo());
    // The file's own defaults are what this test checks, not a developer's overrides.
    for variable in [
        "REACTIONS_IMAGE",
        "INGEST_REPLICAS",
        "INGEST_PUBLIC_PORT",
        "QUERY_PUBLIC_PORT",
        "PROMETHEUS_PUBLIC_PORT",
        "GRAFANA_PUBLIC_PORT",
        "RUST_LOG",
        "COMPOSE_FILE",
        "COMPOSE_PROJECT_NAME",
    ] {
        command.env_remove(variable);
    }
    let text = run_ok(&mut command, "docker-compose");
    serde_yaml::from_str(&text).expect("docker-compose config prints YAML")
}

fn yaml_str(value: &serde_yaml::Value) -> String {
    match value {
        serde_yaml::Value::String(text) => text.clone(),
        serde_yaml::Value::Number(number) => number.to_string(),
        other => panic!("expected a string or a number, got {other:?}"),
    }
}

#[test]
fn compose_has_the_whole_stack() {
    let config = compose_config();
    let services = config["services"]
        .as_mapping()
        .expect("compose config has services");
    let names: BTreeSet<String> = services.keys().map(yaml_str).collect();
    let expected: BTreeSet<String> = ["influxdb", "ingest", "query", "lb", "prometheus", "grafana"]
        .map(String::from)
        .into();
    assert_eq!(names, expected);

    for (name, service) in services {
        let name = yaml_str(name);
        assert!(
            service["restart"].as_str().is_some(),
            "service {name} has no restart policy"
        );
    }
}

#[test]
fn compose_limits_and_health_gates() {
    let config = compose_config();
    let services = &config["services"];
    for name in ["ingest", "query"] {
        let service = &services[name];
        assert!(!service["cpus"].is_null(), "{name} has no cpus limit");
        assert!(service["mem_limit"].is_string(), "{name} has no mem_limit");
        assert_eq!(
            service["depends_on"]["influxdb"]["condition"].as_str(),
            Some("service_healthy"),
            "{name} does not wait for a healthy InfluxDB"
        );
        assert_eq!(
            service["environment"]["INFLUX_URL"].as_str(),
            Some("http://influxdb:8086"),
            "{name} is not pointed at the influxdb service"
        );
    }
    assert_eq!(
        services["lb"]["depends_on"]["ingest"]["condition"].as_str(),
        Some("service_healthy")
    );
    assert!(
        services["ingest"]["deploy"]["replicas"]
            .as_u64()
            .is_some_and(|replicas| replicas >= 2),
        "ingest does not run several replicas"
    );
    // ingest and query have their health check in the image; the others declare one here.
    for name in ["influxdb", "lb", "prometheus", "grafana"] {
        assert!(
            services[name]["healthcheck"]["test"].is_sequence(),
            "{name} has no health check"
        );
    }
}

#[test]
fn compose_listens_on_service_ports() {
    let config = compose_config();
    let services = &config["services"];
    let ingest_port = default_listen_port("ingest");
    let query_port = default_listen_port("query");

    let ingest_listen = yaml_str(&services["ingest"]["environment"]["INGEST_LISTEN"]);
    assert_eq!(ingest_listen, format!("0.0.0.0:{ingest_port}"));
    let query_listen = yaml_str(&services["query"]["environment"]["QUERY_LISTEN"]);
    assert_eq!(query_listen, format!("0.0.0.0:{query_port}"));
    assert_eq!(
        yaml_str(&services["query"]["environment"]["HEALTHCHECK_URL"]),
        format!("http://127.0.0.1:{query_port}/healthz")
    );

    let nginx = read("deploy/nginx/nginx.conf");
    assert!(
        nginx.contains(&format!("http://ingest:{ingest_port};")),
        "nginx does not proxy to ingest's port {ingest_port}"
    );
    let prometheus = read("deploy/prometheus/prometheus.yml");
    for (job, port) in [("ingest", ingest_port), ("query", query_port)] {
        assert!(
            prometheus.contains(&format!(
                "names: [{job}]\n        type: A\n        port: {port}"
            )),
            "prometheus.yml does not scrape {job} replicas on port {port}"
        );
    }
}

/// Formats a published port as `[HOST_IP:]PUBLISHED:TARGET`. docker-compose 1.29 prints ports
/// with a host address as strings and the others as mappings.
fn port_spec(port: &serde_yaml::Value) -> String {
    if let Some(text) = port.as_str() {
        return text.trim_end_matches("/tcp").to_owned();
    }
    let published = yaml_str(&port["published"]);
    let target = yaml_str(&port["target"]);
    match port["host_ip"].as_str() {
        Some(host) => format!("{host}:{published}:{target}"),
        None => format!("{published}:{target}"),
    }
}

#[test]
fn compose_publishes_only_public_ports() {
    let config = compose_config();
    let mut published = BTreeMap::new();
    for (name, service) in config["services"].as_mapping().expect("services") {
        if let Some(ports) = service["ports"].as_sequence() {
            published.insert(
                yaml_str(name),
                ports.iter().map(port_spec).collect::<Vec<_>>(),
            );
        }
    }
    let expected = BTreeMap::from([
        ("grafana".to_owned(), vec!["127.0.0.1:3000:3000".to_owned()]),
        ("lb".to_owned(), vec!["8080:80".to_owned()]),
        (
            "prometheus".to_owned(),
            vec!["127.0.0.1:9090:9090".to_owned()],
        ),
        ("query".to_owned(), vec!["8081:8081".to_owned()]),
    ]);
    assert_eq!(published, expected);
}

#[test]
fn compose_bind_mounts_exist() {
    let config = compose_config();
    let mut mounts = 0;
    for (name, service) in config["services"].as_mapping().expect("services") {
        for volume in service["volumes"].as_sequence().into_iter().flatten() {
            let volume = yaml_str(volume);
            let source = volume.split(':').next().unwrap_or_default();
            if source.starts_with('/') {
                mounts += 1;
                assert!(
                    Path::new(source).exists(),
                    "{} mounts {source}, which does not exist",
                    yaml_str(name)
                );
            }
        }
    }
    assert!(
        mounts >= 6,
        "expected the config bind mounts, found {mounts}"
    );
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

fn parse_dockerfile() -> Dockerfile {
    Dockerfile::parse(&read("Dockerfile"))
        .unwrap_or_else(|error| panic!("Dockerfile does not parse: {error}"))
}

/// Returns the arguments of the runtime (last) stage's instructions named `keyword`.
fn runtime_misc(dockerfile: &Dockerfile, keyword: &str) -> Vec<String> {
    let stages = dockerfile.stages();
    let runtime = stages.iter().last().expect("the Dockerfile has stages");
    runtime
        .instructions
        .iter()
        .filter_map(|instruction| instruction.as_misc())
        .filter(|misc| misc.instruction.content.eq_ignore_ascii_case(keyword))
        .map(|misc| misc.arguments.to_string().trim().to_owned())
        .collect()
}

/// Returns the names of the workspace's binary targets, from `cargo metadata`.
fn workspace_binaries() -> BTreeSet<String> {
    let text = run_ok(
        Command::new(env!("CARGO"))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(repo()),
        "none",
    );
    let metadata: Value = serde_json::from_str(&text).expect("cargo metadata prints JSON");
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .flat_map(|package| package["targets"].as_array().cloned().unwrap_or_default())
        .filter(|target| {
            target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.contains(&Value::from("bin")))
        })
        .filter_map(|target| target["name"].as_str().map(String::from))
        .collect()
}

#[test]
fn dockerfile_stages_and_pinned_bases() {
    let dockerfile = parse_dockerfile();
    let mut aliases = BTreeSet::new();
    let mut bases = Vec::new();
    for instruction in &dockerfile.instructions {
        if let Instruction::From(from) = instruction {
            let image = &from.image.content;
            if !aliases.contains(image) {
                let tag = from.image_parsed.tag.clone().unwrap_or_default();
                assert!(
                    tag.chars().any(|c| c.is_ascii_digit()) || from.image_parsed.hash.is_some(),
                    "base image {image} is not pinned to a version"
                );
                bases.push(image.clone());
            }
            if let Some(alias) = &from.alias {
                aliases.insert(alias.content.clone());
            }
        }
    }
    assert!(
        bases.iter().any(|base| base.starts_with("rust:")),
        "no Rust builder stage in {bases:?}"
    );
    assert!(
        bases
            .last()
            .is_some_and(|base| base.starts_with("debian:") && base.contains("slim")),
        "the runtime stage is not Debian slim: {bases:?}"
    );
    let text = read("Dockerfile");
    assert!(
        text.contains("cargo chef cook"),
        "dependencies are not built in a layer of their own"
    );
}

#[test]
fn dockerfile_copies_existing_paths() {
    let dockerfile = parse_dockerfile();
    let stage_names: BTreeSet<String> = dockerfile
        .stages()
        .iter()
        .filter_map(|stage| stage.name.clone())
        .collect();
    let mut copies = 0;
    for instruction in &dockerfile.instructions {
        let Instruction::Copy(copy) = instruction else {
            continue;
        };
        copies += 1;
        let from = copy.flags.iter().find(|flag| flag.name.content == "from");
        match from {
            Some(flag) => assert!(
                stage_names.contains(&flag.value.content),
                "COPY --from={} names no stage",
                flag.value.content
            ),
            None => {
                for source in &copy.sources {
                    assert!(
                        repo().join(&source.content).exists(),
                        "COPY source {} does not exist in the repository",
                        source.content
                    );
                }
            }
        }
    }
    assert!(copies >= 3, "expected COPY instructions, found {copies}");
}

#[test]
fn dockerfile_matches_workspace_binaries_and_ports() {
    let dockerfile = parse_dockerfile();
    let stages = dockerfile.stages();
    let runtime = stages.iter().last().expect("stages");

    let mut copied = BTreeSet::new();
    for instruction in &runtime.instructions {
        if let Instruction::Copy(copy) = instruction {
            for source in &copy.sources {
                let name = source.content.rsplit('/').next().unwrap_or_default();
                copied.insert(name.to_owned());
            }
        }
    }
    let expected: BTreeSet<String> = ["ingest", "query"].map(String::from).into();
    assert_eq!(
        copied, expected,
        "the image must hold exactly ingest and query"
    );
    let workspace = workspace_binaries();
    assert!(
        expected.is_subset(&workspace),
        "the workspace builds {workspace:?}, not ingest and query"
    );

    let cmd = runtime
        .instructions
        .iter()
        .find_map(|instruction| match instruction {
            Instruction::Cmd(cmd) => Some(&cmd.expr),
            _ => None,
        })
        .expect("the runtime stage has a CMD");
    let ShellOrExecExpr::Exec(cmd) = cmd else {
        panic!("CMD should be in exec form");
    };
    let cmd: Vec<&str> = cmd.elements.iter().map(|e| e.content.as_str()).collect();
    assert_eq!(cmd, ["ingest"]);

    let ingest_port = default_listen_port("ingest");
    let query_port = default_listen_port("query");
    let exposed: BTreeSet<u16> = runtime_misc(&dockerfile, "EXPOSE")
        .iter()
        .flat_map(|arguments| {
            arguments
                .split_whitespace()
                .map(port_of)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(exposed, BTreeSet::from([ingest_port, query_port]));

    let mut env = BTreeMap::new();
    for instruction in &runtime.instructions {
        if let Instruction::Env(instruction) = instruction {
            for var in &instruction.vars {
                env.insert(var.key.content.clone(), var.value.to_string());
            }
        }
    }
    assert_eq!(env["INGEST_LISTEN"], format!("0.0.0.0:{ingest_port}"));
    assert_eq!(env["QUERY_LISTEN"], format!("0.0.0.0:{query_port}"));

    let healthcheck = runtime_misc(&dockerfile, "HEALTHCHECK").join(" ");
    assert!(
        healthcheck.contains(&format!("127.0.0.1:{ingest_port}/healthz")),
        "HEALTHCHECK does not probe ingest's /healthz: {healthcheck}"
    );
    let user = runtime_misc(&dockerfile, "USER");
    assert!(
        user.last()
            .is_some_and(|user| user != "root" && user != "0"),
        "the runtime stage must end as a non-root USER, found {user:?}"
    );
}

#[test]
fn dockerignore_excludes_build_output_and_data() {
    let ignore = read(".dockerignore");
    let entries: BTreeSet<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    for entry in ["target/", "data/", ".stack/"] {
        assert!(entries.contains(entry), ".dockerignore lacks {entry}");
    }
}

// ---------------------------------------------------------------------------------------------
// Prometheus rules and the Grafana dashboard

#[test]
fn prometheus_files_pass_promtool() {
    let dir = repo().join("deploy/prometheus");
    for args in [
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "rules.yml"],
        ["test", "rules", "rules_test.yml"],
    ] {
        run_ok(
            Command::new("promtool").args(args).current_dir(&dir),
            "prometheus",
        );
    }
}

/// Returns the metric names in a PromQL expression: identifiers with one of our prefixes.
fn metric_names(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| {
            ["ingest_", "query_", "process_", "up"]
                .iter()
                .any(|prefix| word.starts_with(prefix))
        })
        .map(String::from)
        .collect()
}

fn is_exported(name: &str) -> bool {
    if name == "up" || COUNTERS_AND_GAUGES.contains(&name) {
        return true;
    }
    ["_bucket", "_sum", "_count"].iter().any(|suffix| {
        name.strip_suffix(suffix)
            .is_some_and(|base| HISTOGRAMS.contains(&base))
    })
}

fn rule_expressions() -> BTreeMap<String, String> {
    let rules: serde_yaml::Value =
        serde_yaml::from_str(&read("deploy/prometheus/rules.yml")).expect("rules.yml is YAML");
    let mut expressions = BTreeMap::new();
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            expressions.insert(yaml_str(&rule["alert"]), yaml_str(&rule["expr"]));
        }
    }
    expressions
}

fn dashboard() -> Value {
    serde_json::from_str(&read("grafana/dashboards/reactions.json"))
        .expect("the dashboard is valid JSON")
}

fn prometheus_expressions(panel: &Value) -> Vec<String> {
    panel["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|target| target["expr"].as_str().map(String::from))
        .collect()
}

#[test]
fn alert_rules_cover_the_failure_signals() {
    let expressions = rule_expressions();
    for (alert, metric) in [
        ("IngestBufferNearlyFull", "ingest_buffer_capacity"),
        ("IngestReactionsDropped", "ingest_reactions_dropped_total"),
        ("IngestStoreWriteErrors", "ingest_store_writes_total"),
        ("IngestNotReady", "ingest_ready"),
        ("QueryNotReady", "query_ready"),
        ("ResidentMemoryGrowing", "process_resident_memory_bytes"),
    ] {
        let expr = expressions
            .get(alert)
            .unwrap_or_else(|| panic!("rules.yml has no alert {alert}"));
        assert!(
            expr.contains(metric),
            "{alert} does not use {metric}: {expr}"
        );
    }

    // Every alert needs a case in rules_test.yml, which prometheus_files_pass_promtool runs.
    let unit_tests = read("deploy/prometheus/rules_test.yml");
    for alert in expressions.keys() {
        assert!(
            unit_tests.contains(&format!("alertname: {alert}\n")),
            "rules_test.yml has no case for {alert}"
        );
    }
}

#[test]
fn rules_and_dashboard_use_exported_metrics() {
    let mut expressions: Vec<(String, String)> = rule_expressions().into_iter().collect();
    for panel in dashboard()["panels"].as_array().expect("panels") {
        let title = panel["title"].as_str().unwrap_or_default().to_owned();
        for expr in prometheus_expressions(panel) {
            expressions.push((format!("panel {title}"), expr));
        }
    }
    assert!(
        expressions.len() > 20,
        "found only {} expressions",
        expressions.len()
    );
    for (origin, expr) in &expressions {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "{origin} reads no metric: {expr}");
        for name in names {
            assert!(
                is_exported(&name),
                "{origin} uses {name}, which no service exports"
            );
        }
        if expr.contains("histogram_quantile") {
            assert!(
                expr.contains("_bucket"),
                "{origin} takes a quantile of no histogram: {expr}"
            );
        }
    }
}

#[test]
fn dashboard_first_row_shows_throughput_and_loss() {
    let dashboard = dashboard();
    let panels = dashboard["panels"].as_array().expect("panels");
    assert_eq!(
        panels[0]["type"], "row",
        "the dashboard does not start with a row"
    );
    let first_row: Vec<String> = panels[1..]
        .iter()
        .take_while(|panel| panel["type"] != "row")
        .flat_map(prometheus_expressions)
        .collect();
    let first_row = first_row.join("\n");
    for metric in [
        "ingest_reactions_accepted_total",
        "ingest_reactions_written_total",
        "ingest_buffer_depth",
        "ingest_buffer_capacity",
        "ingest_reactions_dropped_total",
    ] {
        assert!(
            first_row.contains(metric),
            "the first row does not show {metric}"
        );
    }
}

#[test]
fn dashboard_uses_provisioned_data_sources() {
    let provisioning: serde_yaml::Value =
        serde_yaml::from_str(&read("grafana/provisioning/datasources/datasources.yml"))
            .expect("datasources.yml is YAML");
    let mut uids = BTreeMap::new();
    for source in provisioning["datasources"]
        .as_sequence()
        .expect("datasources")
    {
        uids.insert(yaml_str(&source["uid"]), source.clone());
    }
    assert_eq!(
        uids["influxdb"]["jsonData"]["dbName"].as_str(),
        Some("reactions")
    );

    let mut influxql = Vec::new();
    for panel in dashboard()["panels"].as_array().expect("panels") {
        if panel["type"] == "row" {
            continue;
        }
        let uid = panel["datasource"]["uid"].as_str().unwrap_or_default();
        assert!(
            uids.contains_key(uid),
            "panel {} uses data source {uid:?}, which is not provisioned",
            panel["title"]
        );
        if uid == "influxdb" {
            influxql.extend(
                panel["targets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|target| target["query"].as_str().map(String::from)),
            );
        }
    }
    assert!(
        influxql
            .iter()
            .any(|query| query.contains("FROM \"reactions_by_article\"")
                && query.contains("\"behavior\"")),
        "no panel counts reactions per behavior from InfluxDB: {influxql:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Jenkinsfile

/// Returns the JDK home of the `java` on PATH, which groovy needs as JAVA_HOME.
fn java_home() -> PathBuf {
    let java = run_ok(
        Command::new("sh").args(["-c", "readlink -f \"$(command -v java)\""]),
        "default-jre-headless",
    );
    let java = PathBuf::from(java.trim());
    java.parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("java is not under <home>/bin: {}", java.display()))
        .to_path_buf()
}

#[test]
fn jenkinsfile_parses_as_groovy() {
    run_ok(
        Command::new("groovy")
            .env("JAVA_HOME", java_home())
            .args([
                "-e",
                "new GroovyShell().parse(new File(args[0]))",
                "Jenkinsfile",
            ])
            .current_dir(repo()),
        "groovy",
    );
}

/// Returns the command of every `sh '...'` or `sh "..."` step in the Jenkinsfile.
fn jenkins_sh_steps(jenkinsfile: &str) -> Vec<String> {
    let mut steps = Vec::new();
    for line in jenkinsfile.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("sh ") else {
            continue;
        };
        let quote = rest.chars().next().expect("sh takes an argument");
        assert!(
            quote == '\'' || quote == '"',
            "sh step without a one-line string: {line}"
        );
        let command = rest[1..]
            .split(quote)
            .next()
            .expect("split yields at least one part");
        steps.push(command.to_owned());
    }
    steps
}

#[test]
fn jenkinsfile_steps_call_repository_scripts() {
    let jenkinsfile = read("Jenkinsfile");
    let steps = jenkins_sh_steps(&jenkinsfile);
    let sh_mentions = jenkinsfile.matches("sh '").count() + jenkinsfile.matches("sh \"").count();
    assert_eq!(steps.len(), sh_mentions, "an sh step was not recognized");
    assert!(steps.len() >= 9, "found only {} sh steps", steps.len());

    for step in &steps {
        let script = step.split_whitespace().next().unwrap_or_default();
        assert!(
            script.starts_with("scripts/"),
            "Jenkins step {step:?} runs a command that is not a repository script"
        );
        let path = repo().join(script);
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|_| panic!("Jenkins step {step:?}: {script} does not exist"))
            .permissions()
            .mode();
        assert!(mode & 0o111 != 0, "{script} is not executable");
    }

    let called: BTreeSet<&str> = steps.iter().map(String::as_str).collect();
    for step in [
        "scripts/ci/build-image.sh",
        "scripts/ci/qa-up.sh",
        "scripts/ci/functional.sh",
        "scripts/ci/integration.sh",
        "scripts/ci/perf.sh smoke",
        "scripts/ci/perf.sh soak",
        "scripts/ci/perf.sh capacity",
        "scripts/ci/push-image.sh",
        "scripts/ci/collect-logs.sh",
        "scripts/ci/teardown.sh",
    ] {
        assert!(called.contains(step), "the Jenkinsfile never runs {step}");
    }
}

#[test]
fn jenkinsfile_stages_run_in_order() {
    let jenkinsfile = read("Jenkinsfile");
    let mut position = 0;
    for stage in [
        "stage('Checkout')",
        "stage('Build image')",
        "stage('Deploy QA')",
        "parallel {",
        "stage('Functional')",
        "stage('Integration')",
        "stage('Perf smoke')",
        "stage('Soak')",
        "stage('Capacity')",
        "stage('Push image')",
        "post {",
        "always {",
    ] {
        let found = jenkinsfile[position..]
            .find(stage)
            .unwrap_or_else(|| panic!("{stage} is missing or out of order"));
        position += found + stage.len();
    }
}

#[test]
fn shell_scripts_pass_bash_syntax_check() {
    let mut scripts = vec![repo().join("scripts/stack.sh")];
    for entry in std::fs::read_dir(repo().join("scripts/ci")).expect("scripts/ci exists") {
        scripts.push(entry.expect("readable directory entry").path());
    }
    for script in scripts {
        run_ok(Command::new("bash").arg("-n").arg(&script), "bash");
    }
}

// ---------------------------------------------------------------------------------------------
// Native stack

/// The native stack in a temporary state directory on free loopback ports; `down` runs on
/// drop, so a failing test leaves no process behind.
struct NativeStack {
    state: tempfile::TempDir,
    binaries: PathBuf,
    ingest_port: u16,
    query_port: u16,
    prometheus_port: u16,
}

impl NativeStack {
    fn new() -> NativeStack {
        NativeStack {
            state: tempfile::tempdir().expect("cannot create a temporary directory"),
            binaries: process::binary("ingest")
                .parent()
                .expect("binaries are in a directory")
                .to_path_buf(),
            ingest_port: free_port(),
            query_port: free_port(),
            prometheus_port: free_port(),
        }
    }

    fn command(&self, action: &str) -> Command {
        let mut command = Command::new(repo().join("scripts/stack.sh"));
        command
            .arg(action)
            .env("STACK_DIR", self.state.path())
            .env("STACK_BIN_DIR", &self.binaries)
            .env("STACK_INFLUX_PORT", free_port().to_string())
            .env("STACK_INFLUX_RPC_PORT", free_port().to_string())
            .env("STACK_INGEST_PORT", self.ingest_port.to_string())
            .env("STACK_QUERY_PORT", self.query_port.to_string())
            .env("STACK_PROMETHEUS_PORT", self.prometheus_port.to_string());
        command
    }

    fn run(&self, action: &str) -> Output {
        run(&mut self.command(action), "bash")
    }

    /// Returns the PIDs that `up` recorded.
    fn pids(&self) -> Vec<i32> {
        let run_dir = self.state.path().join("run");
        std::fs::read_dir(&run_dir)
            .map(|entries| {
                entries
                    .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
                    .filter_map(|text| text.trim().parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for NativeStack {
    fn drop(&mut self) {
        let _ = self.run("down");
    }
}

fn describe(output: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Reports whether a process exists and is not a zombie waiting for init to reap it.
fn is_running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z')
        })
        .unwrap_or(false)
}

#[test]
fn native_stack_serves_reaction_end_to_end() {
    let stack = NativeStack::new();
    let up = stack.run("up");
    assert!(up.status.success(), "stack.sh up failed: {}", describe(&up));
    let pids = stack.pids();
    assert_eq!(pids.len(), 4, "expected four PID files, found {pids:?}");

    let second_up = stack.run("up");
    assert!(
        !second_up.status.success(),
        "a second `up` must refuse while the stack runs: {}",
        describe(&second_up)
    );

    let reports = stack.state.path().join("reports");
    let functional = run(
        Command::new(repo().join("scripts/ci/functional.sh"))
            .env(
                "INGEST_URL",
                format!("http://127.0.0.1:{}", stack.ingest_port),
            )
            .env(
                "QUERY_URL",
                format!("http://127.0.0.1:{}", stack.query_port),
            )
            .env("REPORT_DIR", &reports),
        "curl",
    );
    assert!(
        functional.status.success(),
        "functional.sh failed against the native stack: {}",
        describe(&functional)
    );
    let junit = std::fs::read_to_string(reports.join("junit/functional.xml"))
        .expect("functional.sh writes JUnit XML");
    assert!(junit.contains("failures=\"0\""), "{junit}");

    // Prometheus runs the repository's rules and scrapes both services at the stack's ports.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client");
    let prometheus = format!("http://127.0.0.1:{}", stack.prometheus_port);
    let rules: Value = client
        .get(format!("{prometheus}/api/v1/rules"))
        .send()
        .and_then(|response| response.json())
        .expect("Prometheus returns its rules");
    assert_eq!(rules["data"]["groups"][0]["name"], "reactions", "{rules}");
    let expected_targets = [
        format!("http://127.0.0.1:{}/metrics", stack.ingest_port),
        format!("http://127.0.0.1:{}/metrics", stack.query_port),
    ];
    let mut targets = Value::Null;
    let found = wait_until(Duration::from_secs(30), || {
        targets = client
            .get(format!("{prometheus}/api/v1/targets"))
            .send()
            .and_then(|response| response.json())
            .unwrap_or(Value::Null);
        let urls: Vec<&str> = targets["data"]["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|target| target["scrapeUrl"].as_str())
            .collect();
        expected_targets
            .iter()
            .all(|url| urls.contains(&url.as_str()))
    });
    assert!(
        found,
        "Prometheus does not scrape {expected_targets:?}: {targets}"
    );

    let status = stack.run("status");
    assert!(status.status.success(), "status: {}", describe(&status));

    let down = stack.run("down");
    assert!(
        down.status.success(),
        "stack.sh down failed: {}",
        describe(&down)
    );
    for pid in pids {
        assert!(
            !is_running(pid),
            "process {pid} is still running after down"
        );
    }
    let status = stack.run("status");
    assert_eq!(
        status.status.code(),
        Some(3),
        "status after down: {}",
        describe(&status)
    );
}
