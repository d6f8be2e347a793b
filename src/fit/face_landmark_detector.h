// 2D facial landmarks with dlib: the HOG frontal face detector and the 68-point (iBUG) shape
// predictor (Kazemi and Sullivan's regression trees). The predictor file is loaded once, by the
// constructor.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include <Eigen/Core>

#include "headtrack/image.h"

namespace headtrack {

class FaceLandmarkDetector {
 public:
  // Loads dlib's shape predictor (e.g. kDefaultShapePredictorPath of rigid_initializer.h).
  // Throws InputError naming the file when it is missing, unreadable or not a shape predictor
  // of 68 landmarks.
  explicit FaceLandmarkDetector(const std::filesystem::path& shape_predictor_path);
  ~FaceLandmarkDetector();
  FaceLandmarkDetector(FaceLandmarkDetector&&) noexcept;
  FaceLandmarkDetector& operator=(FaceLandmarkDetector&&) noexcept;

  // The 68 landmarks of the largest detected face, in iBUG order, as pixel positions (u right,
  // v down, pixel centers at integers); empty when no face is found. image: RGB (3 channels) or
  // gray (1 channel). upsample: times the image is doubled before detection (dlib finds faces
  // of about 80 pixels and more; each doubling halves that and quadruples the time).
  std::vector<Eigen::Vector2d> Detect(const ColorImage& image, int upsample = 0);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace headtrack
