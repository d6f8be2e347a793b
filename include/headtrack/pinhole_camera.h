// Pinhole camera in OpenCV's convention: camera frame x right, y down, z forward (metres);
// pixel (u, v) with u to the right and v down, pixel centers at integer coordinates, so the
// center of the top-left pixel is (0, 0).
#pragma once

#include <Eigen/Core>

namespace headtrack {

struct PinholeCamera {
  double fx = 0.0;  // focal lengths in pixels
  double fy = 0.0;
  double cx = 0.0;  // principal point in pixels
  double cy = 0.0;
  int width = 0;    // image size in pixels
  int height = 0;

  // Throws CheckError unless focal lengths are positive and finite and the size is positive.
  void Check() const;

  // point_in_cam (metres, z > 0) -> pixel (u, v).
  template <typename T>
  Eigen::Matrix<T, 2, 1> Project(const Eigen::Matrix<T, 3, 1>& point_in_cam) const {
    return {T(fx) * point_in_cam.x() / point_in_cam.z() + T(cx),
            T(fy) * point_in_cam.y() / point_in_cam.z() + T(cy)};
  }

  // Pixel (u, v) and depth z (metres along the optical axis) -> point in the camera frame.
  template <typename T>
  Eigen::Matrix<T, 3, 1> Unproject(const Eigen::Matrix<T, 2, 1>& pixel, T depth) const {
    return {(pixel.x() - T(cx)) * depth / T(fx), (pixel.y() - T(cy)) * depth / T(fy), depth};
  }

  bool Contains(double u, double v) const {
    return u > -0.5 && v > -0.5 && u < width - 0.5 && v < height - 0.5;
  }

  // The camera that sees every factor-th pixel of every factor-th row: its pixel (x, y) is pixel
  // (factor x, factor y) of this one (width and height rounded up). factor >= 1.
  PinholeCamera Subsampled(int factor) const;

  // Well-known depth cameras.
  static PinholeCamera AzureKinectNfovUnbinned();  // 640 x 576
  static PinholeCamera KinectV1();                 // 640 x 480, 525 / 525 / 319.5 / 239.5
};

}  // namespace headtrack
