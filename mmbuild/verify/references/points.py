"""Point clouds: points inside 3D boxes and voxelization."""

from __future__ import annotations

import torch


def points_in_boxes(points: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """(M, 3) points, (T, 7) boxes (x, y, z of the bottom centre, x/y/z size, yaw) -> (M, T) 0/1.

    A point is inside when strictly within the box's footprint (in the box's frame) and within its height.
    """
    cx, cy, cz, sx, sy, sz, rz = (boxes[:, i] for i in range(7))
    x, y, z = points[:, 0:1], points[:, 1:2], points[:, 2:3]
    centre_z = cz + sz / 2
    inside_z = (z - centre_z).abs() <= sz / 2
    dx, dy = x - cx, y - cy
    cos, sin = torch.cos(-rz), torch.sin(-rz)
    local_x = dx * cos - dy * sin
    local_y = dx * sin + dy * cos
    inside = inside_z & (local_x > -sx / 2) & (local_x < sx / 2) & (local_y > -sy / 2) & (local_y < sy / 2)
    return inside.to(torch.int32)


def voxel_coordinates(points: torch.Tensor, voxel_size: list[float],
                      coors_range: list[float]) -> torch.Tensor:
    """The (z, y, x) voxel of each point, or -1s when outside the range -> (N, 3) int32."""
    size = torch.tensor(voxel_size, dtype=points.dtype)
    low = torch.tensor(coors_range[:3], dtype=points.dtype)
    grid = torch.round((torch.tensor(coors_range[3:], dtype=torch.float32)
                        - torch.tensor(coors_range[:3], dtype=torch.float32))
                       / torch.tensor(voxel_size, dtype=torch.float32)).long()
    cell = torch.floor((points[:, :3] - low) / size).long()
    outside = ((cell < 0) | (cell >= grid)).any(dim=1)
    cell[outside] = -1
    return cell.flip(1).to(torch.int32)


def hard_voxelize(points: torch.Tensor, voxel_size: list[float], coors_range: list[float],
                  max_points: int, max_voxels: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Voxels in order of first appearance, each keeping its first ``max_points`` points (zero padded).

    Returns (voxels (V, max_points, F), coordinates (V, 3), points per voxel (V,)).
    """
    coords = voxel_coordinates(points, voxel_size, coors_range)
    index: dict[tuple[int, ...], int] = {}
    members: list[list[int]] = []
    for i, c in enumerate(coords.tolist()):
        if c[0] == -1:
            continue
        key = tuple(c)
        if key not in index:
            if len(index) >= max_voxels:
                continue
            index[key] = len(members)
            members.append([])
        if len(members[index[key]]) < max_points:
            members[index[key]].append(i)
    voxels = points.new_zeros((len(members), max_points, points.shape[1]))
    for v, rows in enumerate(members):
        voxels[v, :len(rows)] = points[rows]
    coordinates = torch.tensor(list(index), dtype=torch.int32).reshape(-1, 3)
    counts = torch.tensor([len(m) for m in members], dtype=torch.int32)
    return voxels, coordinates, counts
