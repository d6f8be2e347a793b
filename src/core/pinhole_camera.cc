#include "headtrack/pinhole_camera.h"

#include <cmath>

#include "headtrack/error.h"

namespace headtrack {

void PinholeCamera::Check() const {
  HT_CHECK(std::isfinite(fx) && fx > 0 && std::isfinite(fy) && fy > 0, "fx " << fx << " fy " << fy);
  HT_CHECK(std::isfinite(cx) && std::isfinite(cy), "cx " << cx << " cy " << cy);
  HT_CHECK(width > 0 && height > 0, "size " << width << " x " << height);
}

PinholeCamera PinholeCamera::Subsampled(int factor) const {
  HT_CHECK(factor >= 1, "Subsampled: factor " << factor << " must be >= 1");
  PinholeCamera out = *this;
  out.fx /= factor;
  out.fy /= factor;
  out.cx /= factor;
  out.cy /= factor;
  out.width = (width + factor - 1) / factor;
  out.height = (height + factor - 1) / factor;
  return out;
}

PinholeCamera PinholeCamera::AzureKinectNfovUnbinned() {
  return {.fx = 504.0, .fy = 504.0, .cx = 319.5, .cy = 287.5, .width = 640, .height = 576};
}

PinholeCamera PinholeCamera::KinectV1() {
  return {.fx = 525.0, .fy = 525.0, .cx = 319.5, .cy = 239.5, .width = 640, .height = 480};
}

}  // namespace headtrack
