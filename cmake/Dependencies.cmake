# Every find_package of the project, in one place. All come from Debian's packages
# (scripts/setup installs them).
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(OpenCV 4 REQUIRED COMPONENTS core imgproc imgcodecs videoio)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
find_package(ZLIB REQUIRED)
find_package(dlib REQUIRED)
find_package(Ceres REQUIRED)

if(HEADTRACK_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(HEADTRACK_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()

# What the layers link privately; the static library carries them to its users.
set(HEADTRACK_PRIVATE_DEPS
  OpenMP::OpenMP_CXX nlohmann_json::nlohmann_json PkgConfig::LIBZIP ZLIB::ZLIB
  opencv_core opencv_imgproc opencv_imgcodecs opencv_videoio dlib::dlib Ceres::ceres)
