// The audio player: the browser's own controls (keyboard and screen-reader friendly) with a waveform
// (wavesurfer.js) drawn from the same media element, and a speed control.
import WaveSurfer from "wavesurfer.js";
import { h } from "../dom.js";

export function player(label) {
  const audio = h("audio", { controls: true, preload: "auto", "aria-label": label });
  const wave = h("div.wave", { "aria-hidden": "true" });
  const speed = h("select", { id: "speed", "aria-label": "Playback speed" },
    [0.75, 1, 1.25, 1.5, 2].map((r) => h("option", { value: r, selected: r === 1 }, `${r}×`)));
  const note = h("p.sub", { role: "status" });
  const el = h("div.player", {}, wave, h("div.player-controls", {}, audio, h("label", { for: "speed" }, "Speed ", speed)), note);
  let surfer = null;
  let url = null;
  speed.addEventListener("change", () => (audio.playbackRate = Number(speed.value)));
  return {
    el,
    audio,
    /** Plays `blob`, keeping the position and speed when it replaces live audio. */
    load(blob) {
      const at = audio.currentTime;
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(blob);
      surfer?.destroy();
      surfer = WaveSurfer.create({ container: wave, media: audio, url, height: 64, waveColor: "#9db4e8", progressColor: "#3b6fd8", cursorColor: "#1d2b4f" });
      audio.playbackRate = Number(speed.value);
      if (at) audio.addEventListener("loadedmetadata", () => (audio.currentTime = Math.min(at, audio.duration || at)), { once: true });
      note.textContent = "";
    },
    unavailable(text) {
      note.textContent = text;
    },
    seek(seconds) {
      audio.currentTime = seconds;
      audio.play().catch(() => {});
    },
    destroy() {
      surfer?.destroy();
      if (url) URL.revokeObjectURL(url);
    },
  };
}
