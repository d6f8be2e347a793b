#include "headtrack/model_path.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "headtrack/error.h"

namespace headtrack {
namespace {

class ModelPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("HEADTRACK_MODEL");
    unsetenv("HEADTRACK_DATA_DIR");
  }
  void TearDown() override { SetUp(); }
};

TEST_F(ModelPathTest, ExplicitPathWins) {
  const std::string readme = std::string(HEADTRACK_DATA_DIR) + "/models/README.md";
  setenv("HEADTRACK_MODEL", "/nonexistent", 1);
  EXPECT_EQ(ResolveModelPath(readme), readme);
}

TEST_F(ModelPathTest, MissingExplicitPathIsAnError) {
  EXPECT_THROW(ResolveModelPath("/nonexistent/model.npz"), InputError);
}

TEST_F(ModelPathTest, EnvironmentBeforeDataDirectory) {
  const std::string readme = std::string(HEADTRACK_DATA_DIR) + "/models/README.md";
  setenv("HEADTRACK_MODEL", readme.c_str(), 1);
  EXPECT_EQ(ResolveModelPath(), readme);
}

TEST_F(ModelPathTest, DefaultIsTheSharedModel) {
  EXPECT_EQ(ResolveModelPath(),
            std::filesystem::path(HEADTRACK_DATA_DIR) / "models" / "ict_facekit_light.npz");
}

TEST_F(ModelPathTest, NothingFoundListsEveryPlace) {
  setenv("HEADTRACK_MODEL", "/nonexistent/a.npz", 1);
  setenv("HEADTRACK_DATA_DIR", "/nonexistent/shared", 1);
  try {
    ResolveModelPath();
    FAIL() << "expected Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("/nonexistent/a.npz"), std::string::npos) << message;
    EXPECT_NE(message.find("/nonexistent/shared/models/ict_facekit_light.npz"), std::string::npos)
        << message;
  }
}

}  // namespace
}  // namespace headtrack
