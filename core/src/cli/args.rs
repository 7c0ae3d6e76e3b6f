//! The command table of the `polyauth` tool and its argument parser: one source for both
//! ecosystems' parsing, usage errors and help text.

use std::collections::BTreeMap;

use crate::error::{excerpt, Error};

/// One option of a command.
pub struct Opt {
    /// The long name, without the leading `--`.
    pub name: &'static str,
    /// The value's placeholder, or `None` for a flag.
    pub value: Option<&'static str>,
    /// May be given more than once.
    pub repeat: bool,
    /// Must be given.
    pub required: bool,
    pub help: &'static str,
}

/// One command (`keys generate`, `hash`, ...).
pub struct Command {
    pub name: &'static str,
    /// Positional arguments, in order (all required).
    pub positionals: &'static [&'static str],
    pub options: &'static [Opt],
    pub about: &'static str,
}

const fn opt(name: &'static str, value: &'static str, help: &'static str) -> Opt {
    Opt {
        name,
        value: Some(value),
        repeat: false,
        required: false,
        help,
    }
}

const fn flag(name: &'static str, help: &'static str) -> Opt {
    Opt {
        name,
        value: None,
        repeat: false,
        required: false,
        help,
    }
}

const fn required(o: Opt) -> Opt {
    Opt {
        required: true,
        ..o
    }
}

const fn repeated(o: Opt) -> Opt {
    Opt { repeat: true, ..o }
}

const ALG_HELP: &str = "EdDSA (default), ES256, ES384, ES512, PS256, PS384, PS512, RS256, RS384, RS512, HS256, HS384, HS512";

/// Every command, in help order.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "keys generate",
        positionals: &[],
        options: &[
            opt("alg", "ALG", ALG_HELP),
            opt(
                "out",
                "FILE",
                "write the private JWKS to a new FILE (mode 0600) and print its kid",
            ),
        ],
        about: "generate a signing key; prints the private JWKS",
    },
    Command {
        name: "keys rotate",
        positionals: &["FILE"],
        options: &[
            opt(
                "alg",
                "ALG",
                "algorithm of the new key (default: the current signing key's)",
            ),
            opt(
                "keep",
                "N",
                "keep at most N keys, the new one included (drops the oldest)",
            ),
        ],
        about: "add a new signing key to the private JWKS in FILE (rewritten atomically, mode 0600); prints the new kid",
    },
    Command {
        name: "keys public",
        positionals: &["FILE"],
        options: &[opt(
            "alg",
            "ALG",
            "algorithm of keys that do not name one (RSA PEM)",
        )],
        about: "print the public JWKS of FILE (JWKS or PEM); private parts and HMAC secrets never appear",
    },
    Command {
        name: "token inspect",
        positionals: &["TOKEN"],
        options: &[],
        about: "decode a token's header and claims WITHOUT verifying anything (TOKEN - reads stdin)",
    },
    Command {
        name: "token verify",
        positionals: &["TOKEN"],
        options: &[
            required(opt(
                "jwks",
                "FILE|URL",
                "the keys: a JWKS or PEM file, or an https:// JWKS URL",
            )),
            required(opt("iss", "ISSUER", "the exact issuer expected")),
            required(repeated(opt("aud", "AUDIENCE", "an accepted audience (repeatable)"))),
            opt("typ", "TYP", "the required typ header (default at+jwt)"),
            flag("no-typ", "accept any typ (tokens of other issuers)"),
            repeated(opt(
                "require",
                "CLAIM",
                "a claim that must be present (repeatable; default sub)",
            )),
            opt("leeway", "SECONDS", "allowed clock skew (default 30, at most 300)"),
            opt("now", "SECONDS", "the clock, seconds since the epoch (default: now)"),
            opt("alg", "ALG", "algorithm of keys that do not name one (RSA PEM)"),
            flag(
                "allow-http",
                "accept an http:// JWKS URL (local development only)",
            ),
        ],
        about: "verify a token's signature and claims as Tokens.verify does (TOKEN - reads stdin)",
    },
    Command {
        name: "hash",
        positionals: &[],
        options: &[
            opt("time-cost", "N", "argon2id iterations (default 2)"),
            opt("memory-kib", "KIB", "argon2id memory (default 19456)"),
            opt("parallelism", "N", "argon2id lanes (default 1)"),
        ],
        about: "hash a password read from stdin (never from the command line); prints the argon2id PHC string",
    },
    Command {
        name: "mfa key",
        positionals: &[],
        options: &[],
        about: "generate an encryption key for stored TOTP secrets (Mfa encryption_key)",
    },
    Command {
        name: "store migrate",
        positionals: &["URL"],
        options: &[],
        about: "apply pending migrations to the store at URL (sqlite://, postgres://; redis:// has none)",
    },
    Command {
        name: "store purge",
        positionals: &["URL"],
        options: &[],
        about: "delete what can never be used again from the store at URL; prints the count",
    },
    Command {
        name: "store sql",
        positionals: &[],
        options: &[
            opt("dialect", "postgres|sqlite", "the SQL dialect (default postgres)"),
            opt(
                "from",
                "VERSION",
                "only the migrations after schema VERSION (default 0: all)",
            ),
        ],
        about: "print the schema migrations, for a DBA to apply",
    },
];

/// Why parsing stopped.
#[derive(Debug)]
pub enum ParseError {
    /// `help`, `--help` or `-h`: print the help of the command (or of the tool).
    Help(Option<&'static Command>),
    /// `--version`.
    Version,
    /// A usage error, with the command it concerns when known.
    Usage(Error, Option<&'static Command>),
}

/// A parsed command line.
#[derive(Debug)]
pub struct Parsed {
    pub command: &'static Command,
    pub positionals: Vec<String>,
    pub options: BTreeMap<&'static str, Vec<String>>,
    pub json: bool,
}

impl Parsed {
    /// The value of a single-valued option.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.options
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Every value of a repeatable option.
    pub fn values(&self, name: &str) -> &[String] {
        self.options.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether a flag was given.
    pub fn flag(&self, name: &str) -> bool {
        self.options.contains_key(name)
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

fn usage(message: impl Into<String>, command: Option<&'static Command>) -> ParseError {
    ParseError::Usage(Error::InvalidInput(message.into()), command)
}

/// The fixed refusal of `hash` given anything on the command line: nothing of it is quoted, it
/// may be the password.
pub const HASH_ARGV_REFUSAL: &str = "hash reads the password from stdin, never from the command \
     line (other users and the shell history would see it): printf '%s' \"$PASSWORD\" | polyauth hash";

/// Whether `--json` was asked for (anywhere before `--`), so that even a usage error is JSON.
pub fn wants_json(args: &[String]) -> bool {
    args.iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// Parses `args` (without the program name).
pub fn parse(args: &[String]) -> Result<Parsed, ParseError> {
    let json = wants_json(args);
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--json")
        .collect();
    let Some(first) = words.first().copied() else {
        return Err(usage("no command given", None));
    };
    match first {
        "-h" | "--help" => return Err(ParseError::Help(None)),
        "--version" | "-V" => return Err(ParseError::Version),
        "help" => {
            let rest = words[1..].join(" ");
            if rest.is_empty() {
                return Err(ParseError::Help(None));
            }
            return match COMMANDS
                .iter()
                .find(|c| c.name == rest || c.name.starts_with(&format!("{rest} ")))
            {
                Some(c) if c.name == rest => Err(ParseError::Help(Some(c))),
                Some(_) => Err(ParseError::Help(None)),
                None => Err(usage(
                    format!("unknown command \"{}\"", excerpt(&rest)),
                    None,
                )),
            };
        }
        _ => {}
    }
    let (command, rest) = if let Some(c) = COMMANDS.iter().find(|c| c.name == first) {
        (c, &words[1..])
    } else if COMMANDS
        .iter()
        .any(|c| c.name.split(' ').next() == Some(first))
    {
        let sub = words.get(1).copied().unwrap_or("");
        let name = format!("{first} {sub}");
        match COMMANDS.iter().find(|c| c.name == name) {
            Some(c) => (c, &words[2..]),
            None if sub.is_empty() || sub == "-h" || sub == "--help" => {
                return Err(if sub.is_empty() {
                    usage(format!("\"{first}\" needs a subcommand"), None)
                } else {
                    ParseError::Help(None)
                })
            }
            None => {
                return Err(usage(
                    format!("unknown command \"{first} {}\"", excerpt(sub)),
                    None,
                ))
            }
        }
    } else {
        return Err(usage(
            format!("unknown command \"{}\"", excerpt(first)),
            None,
        ));
    };
    parse_command(command, rest, json)
}

fn parse_command(
    command: &'static Command,
    rest: &[&str],
    json: bool,
) -> Result<Parsed, ParseError> {
    let is_hash = command.name == "hash";
    let mut positionals = Vec::new();
    let mut options: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut i = 0;
    let mut only_positionals = false;
    while i < rest.len() {
        let arg = rest[i];
        i += 1;
        if only_positionals || arg == "-" || !arg.starts_with('-') {
            positionals.push(arg.to_owned());
            continue;
        }
        if arg == "--" {
            only_positionals = true;
            continue;
        }
        if arg == "-h" || arg == "--help" {
            return Err(ParseError::Help(Some(command)));
        }
        let (name, inline) = match arg.strip_prefix("--") {
            Some(body) => match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            },
            None => ("", None),
        };
        let Some(spec) = command
            .options
            .iter()
            .find(|o| o.name == name && !name.is_empty())
        else {
            if is_hash {
                return Err(usage(HASH_ARGV_REFUSAL, Some(command)));
            }
            // Only the name is quoted: the value after `=` may be a secret.
            let shown = arg.split('=').next().unwrap_or(arg);
            return Err(usage(
                format!("unknown option \"{}\" for {}", excerpt(shown), command.name),
                Some(command),
            ));
        };
        let value = match (spec.value, inline) {
            (None, None) => String::new(),
            (None, Some(_)) => {
                return Err(usage(
                    format!("--{} takes no value", spec.name),
                    Some(command),
                ))
            }
            (Some(_), Some(v)) => v.to_owned(),
            (Some(meta), None) => match rest.get(i) {
                Some(v) => {
                    i += 1;
                    (*v).to_owned()
                }
                None => {
                    return Err(usage(
                        format!("--{} needs a value ({meta})", spec.name),
                        Some(command),
                    ))
                }
            },
        };
        let slot = options.entry(spec.name).or_default();
        if !slot.is_empty() && !spec.repeat {
            return Err(usage(
                format!("--{} given more than once", spec.name),
                Some(command),
            ));
        }
        slot.push(value);
    }
    if is_hash && !positionals.is_empty() {
        return Err(usage(HASH_ARGV_REFUSAL, Some(command)));
    }
    if positionals.len() < command.positionals.len() {
        let missing = command.positionals[positionals.len()];
        return Err(usage(
            format!("{} needs {missing}", command.name),
            Some(command),
        ));
    }
    if positionals.len() > command.positionals.len() {
        return Err(usage(
            format!(
                "too many arguments for {} (unexpected \"{}\")",
                command.name,
                excerpt(&positionals[command.positionals.len()])
            ),
            Some(command),
        ));
    }
    if let Some(o) = command
        .options
        .iter()
        .find(|o| o.required && !options.contains_key(o.name))
    {
        return Err(usage(
            format!("{} needs --{}", command.name, o.name),
            Some(command),
        ));
    }
    Ok(Parsed {
        command,
        positionals,
        options,
        json,
    })
}

/// The one-line synopsis of a command.
pub fn synopsis(c: &Command) -> String {
    let mut s = format!("polyauth {}", c.name);
    for p in c.positionals {
        s.push(' ');
        s.push_str(p);
    }
    for o in c.options {
        let body = match o.value {
            Some(v) => format!("--{} {v}", o.name),
            None => format!("--{}", o.name),
        };
        if o.required {
            s.push_str(&format!(" {body}"));
        } else {
            s.push_str(&format!(" [{body}]"));
        }
    }
    s.push_str(" [--json]");
    s
}

/// The help of one command.
pub fn command_help(c: &Command) -> String {
    let mut s = format!("usage: {}\n\n{}\n", synopsis(c), c.about);
    if !c.options.is_empty() {
        s.push_str("\noptions:\n");
        for o in c.options {
            let head = match o.value {
                Some(v) => format!("--{} {v}", o.name),
                None => format!("--{}", o.name),
            };
            s.push_str(&format!("  {head:<26} {}\n", o.help));
        }
    }
    s.push_str(&format!(
        "  {:<26} {}\n",
        "--json", "machine-readable output"
    ));
    s
}

/// The help of the tool.
pub fn general_help() -> String {
    let mut s = String::from(
        "usage: polyauth COMMAND [ARGS] [--json]\n\n\
         polyauth's command-line tool (the same in Python and Node).\n\ncommands:\n",
    );
    for c in COMMANDS {
        let mut head = c.name.to_owned();
        for p in c.positionals {
            head.push(' ');
            head.push_str(p);
        }
        s.push_str(&format!("  {head:<22} {}\n", c.about));
    }
    s.push_str(
        "\nexit codes: 0 ok, 1 refused (token, key or hash not accepted), 2 usage or \
         configuration error, 3 file, store or network unavailable, 4 internal error\n\
         errors print \"error: <code>: <message>\" on stderr (with --json: {\"ok\": false, \
         \"error\": {\"code\", \"message\"}} on stdout)\n\
         \"polyauth help COMMAND\" shows a command's options.\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Parsed, ParseError> {
        parse(&args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    fn usage_message(r: Result<Parsed, ParseError>) -> String {
        match r {
            Err(ParseError::Usage(e, _)) => {
                assert_eq!(e.code(), "invalid_input");
                e.to_string()
            }
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn commands_and_options() {
        let a = p(&["keys", "generate", "--alg", "ES256", "--json"]).unwrap();
        assert_eq!(a.command.name, "keys generate");
        assert_eq!(a.value("alg"), Some("ES256"));
        assert!(a.json);
        let a = p(&[
            "--json",
            "token",
            "verify",
            "t.k.s",
            "--jwks=k.json",
            "--iss",
            "i",
        ])
        .map(|_| ())
        .unwrap_err();
        assert!(matches!(a, ParseError::Usage(..)), "--aud is required");
        let a = p(&[
            "token", "verify", "t", "--jwks", "f", "--iss", "i", "--aud", "a", "--aud=b",
            "--no-typ",
        ])
        .unwrap();
        assert_eq!(a.values("aud"), ["a", "b"]);
        assert!(a.flag("no-typ"));
        assert_eq!(a.positionals, ["t"]);
        let a = p(&["token", "inspect", "-"]).unwrap();
        assert_eq!(a.positionals, ["-"]);
        let a = p(&["keys", "public", "--", "-odd-name"]).unwrap();
        assert_eq!(a.positionals, ["-odd-name"]);
    }

    #[test]
    fn usage_errors() {
        assert!(usage_message(p(&[])).contains("no command"));
        assert!(usage_message(p(&["frobnicate"])).contains("unknown command \"frobnicate\""));
        assert!(usage_message(p(&["keys"])).contains("needs a subcommand"));
        assert!(usage_message(p(&["keys", "nope"])).contains("unknown command \"keys nope\""));
        assert!(usage_message(p(&["keys", "rotate"])).contains("needs FILE"));
        assert!(usage_message(p(&["keys", "rotate", "a", "b"])).contains("too many"));
        assert!(usage_message(p(&["keys", "generate", "--alg"])).contains("needs a value"));
        assert!(
            usage_message(p(&["keys", "generate", "--alg", "a", "--alg", "b"]))
                .contains("more than once")
        );
        assert!(usage_message(p(&["mfa", "key", "--json=1"])).contains("unknown option"));
        let m = usage_message(p(&["store", "sql", "--password=hunter2"]));
        assert!(m.contains("--password") && !m.contains("hunter2"), "{m}");
        assert!(
            usage_message(p(&["token", "verify", "t", "--jwks", "f", "--aud", "a"]))
                .contains("needs --iss")
        );
    }

    #[test]
    fn hash_never_quotes_its_arguments() {
        for args in [
            &["hash", "hunter2"][..],
            &["hash", "--password", "hunter2"],
            &["hash", "--password=hunter2"],
            &["hash", "-p", "hunter2"],
        ] {
            let m = usage_message(p(args));
            assert!(m.contains("stdin") && !m.contains("hunter2"), "{m}");
        }
        assert!(p(&["hash", "--time-cost", "3"]).is_ok());
    }

    #[test]
    fn help_and_version() {
        assert!(matches!(p(&["--help"]), Err(ParseError::Help(None))));
        assert!(matches!(p(&["help"]), Err(ParseError::Help(None))));
        assert!(
            matches!(p(&["help", "keys", "rotate"]), Err(ParseError::Help(Some(c))) if c.name == "keys rotate")
        );
        assert!(
            matches!(p(&["hash", "--help"]), Err(ParseError::Help(Some(c))) if c.name == "hash")
        );
        assert!(matches!(p(&["--version"]), Err(ParseError::Version)));
        let h = general_help();
        for c in COMMANDS {
            assert!(h.contains(c.name));
            assert!(command_help(c).starts_with(&format!("usage: polyauth {}", c.name)));
        }
    }
}
