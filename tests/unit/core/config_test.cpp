// Config errors must name the file, the line and the key (or the variable, or the flag).
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <sstream>

#include "core/config.hpp"

namespace outboard::core {
namespace {

// The message of the ConfigError f throws, or "" when it throws none.
std::string error_of(std::function<void()> const& f) {
  try {
    f();
  } catch (ConfigError const& e) {
    return e.what();
  }
  return "";
}

struct Values {
  std::int64_t port = 8080;
  std::string state = "memory://";
  bool secure = false;
  std::vector<std::string> keys;
};

// Settings made without a command: the first scheme, OUTBOARD_<KEY>.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    s.add_int("server.port", v.port, 1, 65535, "--port", "port");
    s.add_string("state.url", v.state, "--state", "state",
                 [](std::string const& u) -> std::optional<std::string> {
                   if (u.find("://") == std::string::npos) return "'" + u + "' is not a URL";
                   return std::nullopt;
                 });
    s.add_bool("sessions.secure", v.secure, "", "secure");
    s.add_list("sessions.keys", v.keys, "--keys", "keys");
  }
  Values v;
  Settings s;
};

TEST_F(ConfigTest, LoadsEveryType) {
  s.load_toml_text("[server]\nport = 9000\n[state]\nurl = \"redis://h:1/0\"\n"
                   "[sessions]\nsecure = true\nkeys = [\"a\", \"b\"]\n", "x.toml");
  EXPECT_EQ(v.port, 9000);
  EXPECT_EQ(v.state, "redis://h:1/0");
  EXPECT_TRUE(v.secure);
  EXPECT_EQ(v.keys, (std::vector<std::string>{"a", "b"}));
}

TEST_F(ConfigTest, DottedKeysWork) {
  s.load_toml_text("server.port = 9001\n", "x.toml");
  EXPECT_EQ(v.port, 9001);
}

TEST_F(ConfigTest, UnknownKeyNamesFileLineAndKey) {
  auto e = error_of([&] { s.load_toml_text("[server]\nport = 1\nprot = 2\n", "serve.toml"); });
  EXPECT_NE(e.find("serve.toml:3"), std::string::npos) << e;
  EXPECT_NE(e.find("server.prot"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'server.port'?"), std::string::npos) << e;
}

TEST_F(ConfigTest, UnknownTableIsAnError) {
  auto e = error_of([&] { s.load_toml_text("\n[nope]\nx = 1\n", "serve.toml"); });
  EXPECT_NE(e.find("serve.toml:"), std::string::npos) << e;
  EXPECT_NE(e.find("nope"), std::string::npos) << e;
  auto misspelt = error_of([&] { s.load_toml_text("[sever]\nport = 1\n", "serve.toml"); });
  EXPECT_NE(misspelt.find("key 'sever': unknown key; did you mean 'server'?"), std::string::npos) << misspelt;
}

TEST_F(ConfigTest, WrongTypeNamesFileLineAndKey) {
  auto e = error_of([&] { s.load_toml_text("[server]\n\nport = \"abc\"\n", "serve.toml"); });
  EXPECT_NE(e.find("serve.toml:3: key 'server.port'"), std::string::npos) << e;
  EXPECT_NE(e.find("expected an integer"), std::string::npos) << e;
}

TEST_F(ConfigTest, BadValueNamesFileLineAndKey) {
  auto e = error_of([&] { s.load_toml_text("[server]\nport = 70000\n", "serve.toml"); });
  EXPECT_NE(e.find("serve.toml:2: key 'server.port'"), std::string::npos) << e;
  EXPECT_NE(e.find("out of range"), std::string::npos) << e;
  auto e2 = error_of([&] { s.load_toml_text("[state]\nurl = \"nope\"\n", "serve.toml"); });
  EXPECT_NE(e2.find("serve.toml:2: key 'state.url': 'nope' is not a URL"), std::string::npos) << e2;
}

TEST_F(ConfigTest, SyntaxErrorNamesFileAndLine) {
  auto e = error_of([&] { s.load_toml_text("[server]\nport = = 1\n", "serve.toml"); });
  EXPECT_NE(e.find("serve.toml:2"), std::string::npos) << e;
}

TEST_F(ConfigTest, EnvironmentOverridesFileAndIsChecked) {
  s.load_toml_text("[server]\nport = 9000\n", "x.toml");
  s.load_environment({{"OUTBOARD_SERVER_PORT", "9100"}, {"OUTBOARD_SESSIONS_KEYS", "k1,k2"}, {"HOME", "/root"}});
  EXPECT_EQ(v.port, 9100);
  EXPECT_EQ(v.keys, (std::vector<std::string>{"k1", "k2"}));
  auto e = error_of([&] { s.load_environment({{"OUTBOARD_SERVER_PORT", "x"}}); });
  EXPECT_NE(e.find("environment OUTBOARD_SERVER_PORT"), std::string::npos) << e;
  auto unknown = error_of([&] { s.load_environment({{"OUTBOARD_SERVER_PROT", "1"}}); });
  EXPECT_NE(unknown.find("OUTBOARD_SERVER_PROT"), std::string::npos) << unknown;
}

TEST_F(ConfigTest, FlagsOverrideEnvironmentAndFile) {
  CLI::App app;
  s.register_flags(app);
  std::vector<std::string> args{"--port", "9200"};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  s.resolve({{"OUTBOARD_SERVER_PORT", "9100"}});
  EXPECT_EQ(v.port, 9200);
}

TEST_F(ConfigTest, BadFlagNamesTheFlag) {
  CLI::App app;
  s.register_flags(app);
  std::vector<std::string> args{"--state", "bad"};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  auto e = error_of([&] { s.resolve({}); });
  EXPECT_NE(e.find("flag --state"), std::string::npos) << e;
}

// Any local user reads a process's arguments: a URL's password is refused on a flag (in the
// authority or as a libpq parameter), with where it goes instead; from the environment it is taken.
TEST_F(ConfigTest, APasswordOnAFlagIsRefusedAndTheEnvironmentTakesIt) {
  for (std::string url : {"redis://:s3cret@127.0.0.1:6379/0", "postgres://app@db/shop?password=s3cret",
                          "redis-cluster://:s3cret@h1:7000,h2:7001"}) {
    SCOPED_TRACE(url);
    CLI::App app;
    s.register_flags(app);
    std::vector<std::string> args{"--state", url};
    std::reverse(args.begin(), args.end());
    app.parse(args);
    auto e = error_of([&] { s.resolve({}); });
    EXPECT_NE(e.find("flag --state: a password on the command line is readable by every local user"), std::string::npos)
        << e;
    EXPECT_NE(e.find("OUTBOARD_STATE_URL"), std::string::npos) << e;
    EXPECT_EQ(e.find("s3cret"), std::string::npos) << e;
  }
  s.load_environment({{"OUTBOARD_STATE_URL", "redis://:s3cret@127.0.0.1:6379/0"}});
  EXPECT_EQ(v.state, "redis://:s3cret@127.0.0.1:6379/0");
}

TEST_F(ConfigTest, MissingFileIsNamed) {
  auto e = error_of([&] { s.load_toml_file("/nonexistent/serve.toml"); });
  EXPECT_NE(e.find("/nonexistent/serve.toml"), std::string::npos) << e;
}

// The scheme every command uses: OUTBOARD_<COMMAND>_<KEY>. Settings("serve") here, with one
// setting of each kind, a secret among them.
struct ServeValues {
  std::int64_t port = 8080;
  std::int64_t threads = 0;
  std::string state = "memory://";
  bool secure = false;
  std::vector<std::string> proxies{"127.0.0.0/8", "::1"};
  std::vector<std::string> keys;
};

class CommandSchemeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    s.add_int("server.port", v.port, 1, 65535, "--port", "port");
    s.add_int("server.threads", v.threads, 0, 256, "--threads", "threads");
    s.add_string("state.url", v.state, "--state", "state");
    s.add_bool("sessions.secure", v.secure, "--secure", "secure");
    s.add_list("server.trusted_proxies", v.proxies, "--trusted-proxies", "proxies");
    s.add_list("sessions.keys", v.keys, "", "keys");
    s.mark_secret("sessions.keys");
  }
  // Parses argv on a fresh app with the flags registered, then resolves with `environment`.
  void resolve_with(std::vector<std::string> args, std::map<std::string, std::string> const& environment) {
    s.register_flags(app);
    std::reverse(args.begin(), args.end());
    app.parse(args);
    s.resolve(environment);
  }
  // The line of effective_configuration() for `key`.
  std::string line_of(std::string const& key) {
    std::stringstream text(s.effective_configuration());
    std::string line;
    while (std::getline(text, line)) {
      if (line.starts_with(key + " = ")) return line;
    }
    return "(no line for " + key + ")";
  }
  ServeValues v;
  Settings s{"serve"};
  CLI::App app;
};

TEST_F(CommandSchemeTest, VariablesCarryTheCommandName) {
  s.load_environment({{"OUTBOARD_SERVE_SERVER_PORT", "9100"},
                      {"OUTBOARD_SERVE_SESSIONS_KEYS", "k1,k2"},
                      {"OUTBOARD_SERVE_SERVER_TRUSTED_PROXIES", "10.0.0.0/8"}});
  EXPECT_EQ(v.port, 9100);
  EXPECT_EQ(v.keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(v.proxies, (std::vector<std::string>{"10.0.0.0/8"}));
  EXPECT_EQ(s.env_variable("server.port"), "OUTBOARD_SERVE_SERVER_PORT");
}

TEST_F(CommandSchemeTest, AnOldNameIsRefusedNamingTheNewOne) {
  auto e = error_of([&] { s.load_environment({{"OUTBOARD_SERVER_PORT", "9100"}}); });
  EXPECT_NE(e.find("environment OUTBOARD_SERVER_PORT: renamed; use OUTBOARD_SERVE_SERVER_PORT"), std::string::npos)
      << e;
  EXPECT_EQ(v.port, 8080);
}

// One env file for every command: each takes its own variables and leaves the others'.
TEST_F(CommandSchemeTest, OneEnvironmentConfiguresEveryCommand) {
  std::map<std::string, std::string> env{{"OUTBOARD_SERVE_SERVER_PORT", "9100"},
                                         {"OUTBOARD_GATEWAY_LISTEN", "0.0.0.0:80"},
                                         {"OUTBOARD_GATEWAY_THREADS", "3"},
                                         {"OUTBOARD_LAB_SEED", "7"}};
  std::string listen = "127.0.0.1:8080";
  std::int64_t gateway_threads = 0;
  Settings gateway("gateway");
  gateway.add_string("listen", listen, "--listen", "listen");
  gateway.add_int("threads", gateway_threads, 0, 256, "--threads", "threads");
  s.load_environment(env);
  gateway.load_environment(env);
  EXPECT_EQ(v.port, 9100);
  EXPECT_EQ(v.threads, 0);
  EXPECT_EQ(listen, "0.0.0.0:80");
  EXPECT_EQ(gateway_threads, 3);
}

TEST_F(CommandSchemeTest, AnUnknownVariableOfThisCommandIsRefusedNamingTheClosest) {
  auto e = error_of([&] { s.load_environment({{"OUTBOARD_SERVE_SERVER_PROT", "9100"}}); });
  EXPECT_NE(e.find("environment OUTBOARD_SERVE_SERVER_PROT: unknown setting of outboard serve"), std::string::npos)
      << e;
  EXPECT_NE(e.find("did you mean OUTBOARD_SERVE_SERVER_PORT?"), std::string::npos) << e;
  auto far = error_of([&] { s.load_environment({{"OUTBOARD_SERVE_COLOUR_OF_THE_SKY", "blue"}}); });
  EXPECT_NE(far.find("OUTBOARD_SERVE_COLOUR_OF_THE_SKY"), std::string::npos) << far;
  EXPECT_NE(far.find("OUTBOARD_SERVE_<KEY>"), std::string::npos) << far;
}

TEST_F(CommandSchemeTest, AVariableOfNoCommandIsRefused) {
  auto e = error_of([&] { s.load_environment({{"OUTBOARD_LISTEN", "0.0.0.0:80"}}); });
  EXPECT_NE(e.find("environment OUTBOARD_LISTEN: not a setting of outboard serve"), std::string::npos) << e;
}

TEST_F(CommandSchemeTest, EffectiveConfigurationNamesWhereEachValueCameFrom) {
  s.load_toml_text("[server]\n\nport = 9000\ntrusted_proxies = [\"10.0.0.0/8\"]\n", "serve.toml");
  resolve_with({"--secure"}, {{"OUTBOARD_SERVE_STATE_URL", "redis://r:6379/0"}});
  EXPECT_TRUE(line_of("server.port").starts_with("server.port = 9000  ")) << line_of("server.port");
  EXPECT_TRUE(line_of("server.port").ends_with("# serve.toml:3")) << line_of("server.port");
  EXPECT_TRUE(line_of("server.trusted_proxies").starts_with("server.trusted_proxies = [\"10.0.0.0/8\"]"));
  EXPECT_TRUE(line_of("server.trusted_proxies").ends_with("# serve.toml:4")) << line_of("server.trusted_proxies");
  EXPECT_TRUE(line_of("state.url").starts_with("state.url = \"redis://r:6379/0\""));
  EXPECT_TRUE(line_of("state.url").ends_with("# environment OUTBOARD_SERVE_STATE_URL")) << line_of("state.url");
  EXPECT_TRUE(line_of("sessions.secure").starts_with("sessions.secure = true"));
  EXPECT_TRUE(line_of("sessions.secure").ends_with("# flag --secure")) << line_of("sessions.secure");
  EXPECT_TRUE(line_of("server.threads").starts_with("server.threads = 0"));
  EXPECT_TRUE(line_of("server.threads").ends_with("# default")) << line_of("server.threads");
}

// The lines of settings that are not secret read back as a config file giving the same values.
TEST_F(CommandSchemeTest, EffectiveConfigurationIsTomlItself) {
  resolve_with({"--state", "sqlite://a \"b\"\\c.db"}, {});
  std::string text;
  std::stringstream lines(s.effective_configuration());
  for (std::string line; std::getline(lines, line);) {
    if (line.find("<") == std::string::npos) text += line + "\n";
  }
  ServeValues again;
  Settings reread("serve");
  reread.add_string("state.url", again.state, "--state", "state");
  reread.add_list("server.trusted_proxies", again.proxies, "", "proxies");
  reread.add_int("server.port", again.port, 1, 65535, "", "port");
  reread.add_int("server.threads", again.threads, 0, 256, "", "threads");
  reread.add_bool("sessions.secure", again.secure, "", "secure");
  reread.load_toml_text(text, "effective.toml");
  EXPECT_EQ(again.state, "sqlite://a \"b\"\\c.db");
  EXPECT_EQ(again.proxies, v.proxies);
}

TEST_F(CommandSchemeTest, ASecretIsNeverPrinted) {
  EXPECT_TRUE(line_of("sessions.keys").starts_with("sessions.keys = <not set>")) << line_of("sessions.keys");
  std::string key(64, 'e');
  resolve_with({}, {{"OUTBOARD_SERVE_SESSIONS_KEYS", key}});
  ASSERT_EQ(v.keys, std::vector<std::string>{key});
  EXPECT_EQ(s.effective_configuration().find(key), std::string::npos) << s.effective_configuration();
  EXPECT_TRUE(line_of("sessions.keys").starts_with("sessions.keys = <set, hidden>")) << line_of("sessions.keys");
  EXPECT_TRUE(line_of("sessions.keys").ends_with("# environment OUTBOARD_SERVE_SESSIONS_KEYS"));

  std::int64_t pin = 0;
  Settings other("serve");
  other.add_int("auth.pin", pin, 0, 9999, "", "pin");
  other.mark_secret("auth.pin");
  auto e = error_of([&] { other.load_environment({{"OUTBOARD_SERVE_AUTH_PIN", "hunter2"}}); });
  EXPECT_NE(e.find("OUTBOARD_SERVE_AUTH_PIN"), std::string::npos) << e;
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  EXPECT_THROW(other.mark_secret("auth.pn"), std::logic_error);
}

TEST_F(CommandSchemeTest, APasswordInAUrlIsNeverPrinted) {
  resolve_with({}, {{"OUTBOARD_SERVE_STATE_URL", "redis://:hunter2@r:6379/0"}});
  EXPECT_TRUE(line_of("state.url").starts_with("state.url = \"redis://:<hidden>@r:6379/0\"")) << line_of("state.url");
  EXPECT_EQ(s.effective_configuration().find("hunter2"), std::string::npos);
}

TEST_F(CommandSchemeTest, HelpShowsEachFlagsDefaultAndVariable) {
  s.register_flags(app);
  std::string help = app.help();
  for (char const* m : {"--port INT=8080", "--state TEXT=memory://", "--secure [BOOL]=false",
                        "--trusted-proxies TEXT=127.0.0.0/8,::1", "OUTBOARD_SERVE_SERVER_PORT", "--check"}) {
    EXPECT_NE(help.find(m), std::string::npos) << "help does not show " << m << ":\n" << help;
  }
}

// The help's default must not change what a bare boolean switch means.
TEST_F(CommandSchemeTest, ABareBooleanSwitchStillMeansTrue) {
  resolve_with({"--secure"}, {});
  EXPECT_TRUE(v.secure);
  EXPECT_FALSE(s.check_requested());
}

TEST_F(CommandSchemeTest, CheckIsRequestedByItsFlag) {
  resolve_with({"--check"}, {});
  EXPECT_TRUE(s.check_requested());
}

// SIGHUP's re-read (a Settings declared anew) keeps the command's scheme.
TEST_F(CommandSchemeTest, AReloadKeepsTheScheme) {
  resolve_with({"--port", "9300"}, {});
  ServeValues w;
  Settings fresh;
  fresh.add_int("server.port", w.port, 1, 65535, "--port", "port");
  fresh.add_int("server.threads", w.threads, 0, 256, "--threads", "threads");
  s.reload_into(fresh);
  fresh.resolve({{"OUTBOARD_SERVE_SERVER_THREADS", "3"}});
  EXPECT_EQ(w.threads, 3);
  EXPECT_EQ(w.port, 9300);
  EXPECT_NE(error_of([&] { fresh.resolve({{"OUTBOARD_SERVER_THREADS", "3"}}); }).find("renamed"), std::string::npos);
}

}  // namespace
}  // namespace outboard::core
