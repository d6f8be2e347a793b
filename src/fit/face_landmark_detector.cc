#include "fit/face_landmark_detector.h"

#include <fstream>
#include <string>
#include <system_error>

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>
#include <dlib/serialize.h>

#include "headtrack/error.h"

namespace headtrack {
namespace {

constexpr unsigned kNumLandmarks = 68;

// Gray (ITU-R BT.601 luma) copy of an RGB or gray image.
dlib::array2d<unsigned char> ToGray(const ColorImage& image) {
  dlib::array2d<unsigned char> gray(image.height, image.width);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      if (image.channels == 1) {
        gray[y][x] = image.at(x, y);
      } else {
        const int luma =
            (299 * image.at(x, y, 0) + 587 * image.at(x, y, 1) + 114 * image.at(x, y, 2) + 500) /
            1000;
        gray[y][x] = static_cast<unsigned char>(luma);
      }
    }
  }
  return gray;
}

}  // namespace

struct FaceLandmarkDetector::Impl {
  dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
  dlib::shape_predictor predictor;
};

FaceLandmarkDetector::FaceLandmarkDetector(const std::filesystem::path& shape_predictor_path)
    : impl_(std::make_unique<Impl>()) {
  const std::string source = shape_predictor_path.string();
  std::error_code error;
  if (!std::filesystem::is_regular_file(shape_predictor_path, error)) {
    throw InputError(source,
                     "no such file; expected dlib's 68-point shape predictor "
                     "(shape_predictor_68_face_landmarks.dat, Debian package libdlib-data)");
  }
  std::ifstream stream(shape_predictor_path, std::ios::binary);
  if (!stream) throw InputError(source, "cannot open the shape predictor for reading");
  try {
    dlib::deserialize(impl_->predictor, stream);
  } catch (const dlib::serialization_error& e) {
    throw InputError(source, std::string("not a dlib shape predictor (") + e.what() + ")");
  }
  if (impl_->predictor.num_parts() != kNumLandmarks) {
    HT_THROW_INPUT(source, "shape predictor has " << impl_->predictor.num_parts()
                                                  << " landmarks; expected the iBUG 68");
  }
}

FaceLandmarkDetector::~FaceLandmarkDetector() = default;
FaceLandmarkDetector::FaceLandmarkDetector(FaceLandmarkDetector&&) noexcept = default;
FaceLandmarkDetector& FaceLandmarkDetector::operator=(FaceLandmarkDetector&&) noexcept = default;

std::vector<Eigen::Vector2d> FaceLandmarkDetector::Detect(const ColorImage& image, int upsample) {
  HT_CHECK(image.channels == 1 || image.channels == 3, "channels " << image.channels);
  HT_CHECK(upsample >= 0 && upsample <= 3, "upsample " << upsample << " must be in [0, 3]");
  if (image.empty()) return {};
  const dlib::array2d<unsigned char> gray = ToGray(image);

  std::vector<dlib::rectangle> faces;
  if (upsample == 0) {
    faces = impl_->detector(gray);
  } else {
    dlib::array2d<unsigned char> larger;
    dlib::assign_image(larger, gray);
    dlib::pyramid_down<2> pyramid;
    for (int k = 0; k < upsample; ++k) dlib::pyramid_up(larger, pyramid);
    faces = impl_->detector(larger);
    for (dlib::rectangle& face : faces) face = pyramid.rect_down(face, upsample);
  }
  if (faces.empty()) return {};

  const dlib::rectangle* largest = &faces[0];
  for (const dlib::rectangle& face : faces) {
    if (face.area() > largest->area()) largest = &face;
  }
  const dlib::full_object_detection shape = impl_->predictor(gray, *largest);
  std::vector<Eigen::Vector2d> landmarks;
  landmarks.reserve(shape.num_parts());
  for (unsigned i = 0; i < shape.num_parts(); ++i) {
    landmarks.emplace_back(static_cast<double>(shape.part(i).x()),
                           static_cast<double>(shape.part(i).y()));
  }
  return landmarks;
}

}  // namespace headtrack
