"""Video I/O: decode, probe, sample, resize and write video with PyAV (FFmpeg).

Video in memory is uint8 RGB [T, H, W, C]. Reading is frame-accurate (seeks land on the
exact frame asked for) and works on constant- and variable-frame-rate files; writing is
H.264 MP4, lossy (CRF) or bit-exact lossless RGB for ground truth.
"""

from .errors import VideoError
from .probe import VideoInfo, probe_video
from .reader import Video, decode_video, iter_frames, read_image, read_video, read_visual
from .transforms import center_crop, resize_frames
from .writer import VideoWriter, encode_video, write_gif, write_video

__all__ = [
    "Video",
    "VideoError",
    "VideoInfo",
    "VideoWriter",
    "center_crop",
    "decode_video",
    "encode_video",
    "iter_frames",
    "probe_video",
    "read_image",
    "read_video",
    "read_visual",
    "resize_frames",
    "write_gif",
    "write_video",
]
