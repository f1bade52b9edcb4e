#pragma once
// Settings from three sources, later ones winning: a TOML file, OUTBOARD_* environment variables,
// command-line flags. Every value passes the same checks whatever its source, and a bad one
// stops start-up with a message naming where it came from: "serve.toml:3: key 'server.port': ...",
// "environment OUTBOARD_SERVE_SERVER_PORT: ...", "flag --port: ...".
//
// A subcommand declares its settings once (key, type, bounds, flag, help) and binds each to a
// field of its own config struct; nothing here is global.
//
// Environment: one scheme for every command, OUTBOARD_<COMMAND>_<KEY>, KEY being the TOML key
// upper-cased with dots as underscores (server.port of `outboard serve`: OUTBOARD_SERVE_SERVER_PORT;
// pool.backends of `outboard gateway`: OUTBOARD_GATEWAY_POOL_BACKENDS). For Settings("serve"), an
// OUTBOARD_* variable is:
//   - OUTBOARD_SERVE_<KEY> of a declared key: applied (after the file, before the flags);
//   - OUTBOARD_SERVE_<anything else>: refused, naming the closest variable, like an unknown TOML
//     key (a misspelt variable would otherwise be a silent default);
//   - the old name of a declared key (OUTBOARD_<KEY>, e.g. OUTBOARD_SERVER_PORT): refused, naming
//     the new one, so an old env file cannot be half applied;
//   - another command's (OUTBOARD_GATEWAY_*, OUTBOARD_LAB_*): ignored, so one env file can
//     configure every command;
//   - any other OUTBOARD_*: refused (it is nobody's; most likely an old name of another
//     command's key, which that command would refuse too).
// Settings made without a command keep the first scheme, OUTBOARD_<KEY>, where every other
// OUTBOARD_* variable is refused as unknown.
//
// --check (registered by register_flags): the command validates everything as for a start, then,
// instead of starting, prints effective_configuration() and exits 0 (a ConfigError exits 2).
// Entries marked secret show as "<set, hidden>" or "<not set>", never their value; a password in a
// URL (redis://:PASSWORD@host:6379/0) shows as <hidden>.
//
// --help shows each flag's default: the bound field's value when register_flags runs (lists
// comma-separated, nothing when empty, never a secret's).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace CLI {
class App;
}

namespace outboard::core {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Returns an error message for a bad value, or nullopt when it is fine.
using StringCheck = std::function<std::optional<std::string>(std::string const&)>;

// One table of an array of tables (`[[schedule]]` in TOML): its values as text, each with where it
// was set, so that a check made later (against what the program registered) can still name the
// file, line and key.
struct TableItem {
  struct Value {
    std::string text;
    std::string where;  // "serve.toml:13: key 'schedule[0].task'"
  };
  std::string where;  // "serve.toml:12: key 'schedule[0]'": the table itself
  std::map<std::string, Value> values;
};

class Settings {
 public:
  // The first scheme: variables OUTBOARD_<KEY>, no command prefix.
  Settings() = default;
  // The settings of `outboard <command>`: variables OUTBOARD_<COMMAND>_<KEY>.
  explicit Settings(std::string command);

  // key is the dotted TOML path ("server.port"); its environment variable is env_variable(key).
  // flag may be empty.
  void add_string(std::string key, std::string& target, std::string flag, std::string help,
                  StringCheck check = {});
  void add_int(std::string key, std::int64_t& target, std::int64_t min, std::int64_t max,
               std::string flag, std::string help);
  void add_bool(std::string key, bool& target, std::string flag, std::string help);
  // In the environment and on the command line, a list is comma-separated.
  void add_list(std::string key, std::vector<std::string>& target, std::string flag,
                std::string help, StringCheck check_each = {});
  // A TOML table of integers (`[jobs.concurrency]` receipt = 4), each in min..max, each name passing
  // check_name; in the environment and on the command line "receipt=4,tick=1".
  void add_int_map(std::string key, std::map<std::string, std::int64_t>& target, std::int64_t min,
                   std::int64_t max, std::string flag, std::string help, StringCheck check_name = {});
  // A TOML array of tables (`[[schedule]]`) whose values are strings, each key one of `fields`
  // (an unknown one is refused with a suggestion). Config file only: its environment variable is
  // refused with that reason, and it has no flag. The values are checked by the caller, which
  // names each one's TableItem::Value::where.
  void add_table_list(std::string key, std::vector<TableItem>& target, std::vector<std::string> fields,
                      std::string help);
  // The value of `key` is never printed (--check, --help, integer and boolean parse errors).
  // Call before register_flags. Throws std::logic_error for an undeclared key.
  void mark_secret(std::string const& key);

  // Registers every setting that has a flag on the CLI11 app (with its default in the help),
  // plus --config FILE and --check.
  void register_flags(CLI::App& app);

  // After CLI11 parsed the command line: file (if --config given), then environment, then the
  // flags that were given. Throws ConfigError on the first bad value.
  void resolve(std::map<std::string, std::string> const& environment);

  // Each stage on its own, for tests and for callers that load differently.
  void load_toml_file(std::string const& path);
  void load_toml_text(std::string const& text, std::string const& source_name);
  void load_environment(std::map<std::string, std::string> const& environment);

  // Whether --check was given.
  bool check_requested() const { return check_; }
  // One line per setting, in declaration order, with where its value came from:
  //   server.port = 8080                # serve.toml:3
  //   state.url = "redis://r:6379/0"    # environment OUTBOARD_SERVE_STATE_URL
  //   log.access = true                 # flag --access-log
  //   sessions.keys = <set, hidden>     # environment OUTBOARD_SERVE_SESSIONS_KEYS
  //   server.threads = 0                # default
  // Values are written as TOML (strings quoted, lists as arrays), so the lines of settings that
  // are not secret also make a valid config file.
  std::string effective_configuration() const;

  // For a reload (SIGHUP): gives `fresh` (same settings declared anew) this one's command, config
  // file path and the flags the command line gave, so fresh.resolve() reads the file again.
  void reload_into(Settings& fresh) const;

  // The variable that sets `key` for this command: OUTBOARD_SERVE_SERVER_PORT, or OUTBOARD_SERVER_PORT
  // for Settings made without a command.
  std::string env_variable(std::string const& key) const;
  // OUTBOARD_ and the key upper-cased, dots and dashes as underscores (the first scheme).
  static std::string env_name(std::string const& key);
  static std::map<std::string, std::string> process_environment();

 private:
  enum class Kind { string, integer, boolean, list, int_map, table_list };
  struct Entry {
    std::string key;
    Kind kind = Kind::string;
    std::variant<std::string*, std::int64_t*, bool*, std::vector<std::string>*, std::map<std::string, std::int64_t>*,
                 std::vector<TableItem>*>
        target;
    std::vector<std::string> fields;  // table_list: the keys a table may have
    std::int64_t min = 0, max = 0;
    std::string flag, help;
    StringCheck check;
    std::optional<std::string> flag_value;  // raw text of the flag when given
    bool secret = false;
    std::string source = "default";  // where the value came from, for --check
  };
  Entry& add(std::string key, Kind kind, decltype(Entry::target) target, std::string flag, std::string help,
             StringCheck check = {});
  Entry* find(std::string const& key);
  // Parses text (from env or a flag) into the entry; the error names `where`.
  void assign_text(Entry& entry, std::string const& text, std::string const& where);
  void check_string(Entry& entry, std::string const& value, std::string const& where);
  // A variable that is not one of ours: throws unless it belongs to another command.
  void refuse_unless_other_command(std::string const& name) const;
  std::string env_prefix() const;
  // "; did you mean 'server.port'?" for a misspelt TOML key, or nothing.
  std::string suggestion_for(std::string const& key) const;

  std::string command_;  // empty: the first scheme
  std::vector<Entry> entries_;
  std::string config_file_;
  bool check_ = false;
};

}  // namespace outboard::core
