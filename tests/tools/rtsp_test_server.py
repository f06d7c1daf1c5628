#!/usr/bin/python3
"""A local RTSP server for the pull-source tests (GStreamer's gst-rtsp-server, Debian gir1.2-gst-rtsp-server-1.0).

Usage: rtsp_test_server.py PORT
Serves, on 127.0.0.1:PORT only, a moving test pattern (320x240 at 15 fps) as
  rtsp://127.0.0.1:PORT/h264   H.264 (x264enc, RTP/H264)
  rtsp://127.0.0.1:PORT/mjpeg  MJPEG (jpegenc, RTP/JPEG)
Prints "ready" on stdout once it listens; runs until killed (SIGTERM/SIGKILL).
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

SOURCE = "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 ! videoconvert"
PIPELINES = {
    "/h264": f"( {SOURCE} ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! rtph264pay name=pay0 pt=96 config-interval=1 )",
    "/mjpeg": f"( {SOURCE} ! video/x-raw,format=I420 ! jpegenc quality=80 ! rtpjpegpay name=pay0 pt=26 )",
}


def main() -> None:
    port = int(sys.argv[1])
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    mounts = server.get_mount_points()
    for path, launch in PIPELINES.items():
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(True)
        mounts.add_factory(path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{port}", file=sys.stderr, flush=True)
        sys.exit(1)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
