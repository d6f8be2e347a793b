// A naive rasterizer for tests: every pixel center against every triangle, each test computed
// directly. It shares with the fast Rasterizer only the arithmetic of raster_rules.h (vertex
// snapping, the z-buffer key, depth and barycentrics at a pixel); coverage, culling, the z-test
// and the attributes are its own. The two must agree exactly on triangle ids and depths.
#pragma once

#include "headtrack/pinhole_camera.h"
#include "headtrack/rasterizer.h"
#include "headtrack/types.h"

namespace headtrack::internal {

// Same contract as Rasterizer::Rasterize; vertex_normals_in_cam may be null (flat normals).
// Slow: O(pixels x triangles), single-threaded; ignores options.num_threads.
void RasterizeReference(const PinholeCamera& camera, const Points3f& vertices_in_cam,
                        const Triangles& faces, const Points3f* vertex_normals_in_cam,
                        const RasterizerOptions& options, Rasterization* out);

}  // namespace headtrack::internal
