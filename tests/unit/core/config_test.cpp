// Config errors must name the file, the line and the key (or the variable, or the flag).
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include "core/config.hpp"

namespace outboard::core {
namespace {

struct Values {
  std::int64_t port = 8080;
  std::string state = "memory://";
  bool secure = false;
  std::vector<std::string> keys;
};

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
  std::string error_of(std::function<void()> f) {
    try {
      f();
    } catch (ConfigError const& e) {
      return e.what();
    }
    return "";
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
}

TEST_F(ConfigTest, UnknownTableIsAnError) {
  auto e = error_of([&] { s.load_toml_text("\n[nope]\nx = 1\n", "serve.toml"); });
  EXPECT_NE(e.find("serve.toml:"), std::string::npos) << e;
  EXPECT_NE(e.find("nope"), std::string::npos) << e;
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

TEST_F(ConfigTest, MissingFileIsNamed) {
  auto e = error_of([&] { s.load_toml_file("/nonexistent/serve.toml"); });
  EXPECT_NE(e.find("/nonexistent/serve.toml"), std::string::npos) << e;
}

}  // namespace
}  // namespace outboard::core
