//! A resource profile: the CPU quota and memory limit one replica gets, written as
//! `0.5cpu-128mb`, the same figures as `cpus` and `mem_limit` in docker-compose.yml.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Profile {
    /// CPU time per wall-clock time: 0.5 is half of one core.
    pub cpus: f64,
    /// Memory limit in MiB, as Docker reads `128m`.
    pub memory_mb: u64,
}

impl Profile {
    pub fn memory_bytes(&self) -> u64 {
        self.memory_mb << 20
    }
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let example = "write a profile as <cpus>cpu-<memory>mb, as in 0.5cpu-128mb";
        let (cpus, memory) = text
            .trim()
            .to_ascii_lowercase()
            .split_once("cpu-")
            .map(|(cpus, memory)| (cpus.to_owned(), memory.to_owned()))
            .ok_or_else(|| format!("`{text}`: {example}"))?;
        let cpus: f64 = cpus
            .parse()
            .map_err(|_| format!("`{text}`: the CPU quota `{cpus}` is not a number; {example}"))?;
        let memory_mb: u64 = memory
            .strip_suffix("mb")
            .and_then(|mb| mb.parse().ok())
            .ok_or_else(|| format!("`{text}`: the memory `{memory}` is not <n>mb; {example}"))?;
        if !(0.01..=1024.0).contains(&cpus) {
            return Err(format!(
                "`{text}`: the CPU quota must be between 0.01 and 1024"
            ));
        }
        if memory_mb < 32 {
            return Err(format!("`{text}`: the memory limit must be at least 32mb"));
        }
        Ok(Profile { cpus, memory_mb })
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}cpu-{}mb", self.cpus, self.memory_mb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_round_trip_through_their_names() {
        for name in ["0.5cpu-128mb", "1cpu-256mb", "2cpu-1024mb"] {
            let profile: Profile = name.parse().unwrap();
            assert_eq!(profile.to_string(), name);
        }
        let profile: Profile = "0.5CPU-128MB".parse().unwrap();
        assert_eq!(profile.memory_bytes(), 128 << 20);
    }

    #[test]
    fn bad_profiles_show_an_example() {
        for bad in [
            "0.5-128",
            "halfcpu-128mb",
            "1cpu-128",
            "0cpu-128mb",
            "1cpu-8mb",
        ] {
            let error = bad.parse::<Profile>().unwrap_err();
            assert!(error.contains(bad), "{bad}: {error}");
        }
        assert!(
            "1cpu"
                .parse::<Profile>()
                .unwrap_err()
                .contains("0.5cpu-128mb")
        );
    }
}
