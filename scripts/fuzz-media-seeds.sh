#!/bin/sh
# Tiny seeds for fuzz_media (one of each type the server processes), made by
# the real tools into the fuzzer's working corpus: no binary file is kept in
# the repository. Usage: scripts/fuzz-media-seeds.sh DIR (does nothing if DIR
# already holds seeds).
set -eu
dir=$1
mkdir -p "$dir"
[ -e "$dir/seed.jpg" ] && exit 0
cd "$dir"
vips perlin p.v 24 16 --uchar
for f in jpg png webp gif heic; do vips copy p.v "seed.$f"; done
rm -f p.v
ff="ffmpeg -nostdin -v error -y"
$ff -f lavfi -i sine=frequency=440:duration=0.2 -c:a libopus -f ogg seed.ogg
$ff -f lavfi -i sine=frequency=440:duration=0.2 -c:a libopus -f webm seed-audio.webm
$ff -f lavfi -i sine=frequency=440:duration=0.2 -f wav seed.wav
$ff -f lavfi -i testsrc=duration=0.2:size=32x24:rate=10 -c:v libx264 -pix_fmt yuv420p seed.mp4
$ff -f lavfi -i testsrc=duration=0.2:size=32x24:rate=10 -c:v libvpx seed.webm
