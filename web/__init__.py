"""Server-rendered pages in Chinese for staff, supervisors and legal reviewers (DESIGN.md's `web`
room). They read and write through the same lower rooms as the JSON API — never through the
API's route functions — and every asset they use is served by the app itself (政务外网 has no
CDN)."""
