from __future__ import annotations

from views_helpers import open_views, panel_ids, read_source, screenshot, plot_width, x_range, model_values


def test_explore(page, site_url, file_urls):
    url = file_urls["view_ephys.nwb"]
    ids = open_views(page, site_url, url, ["/acquisition/es_small_chunks",
                                           "spectrogram:/processing/ecephys/LFP/lfp",
                                           "/processing/behavior/Position/position"])
    print("ids", ids, page.url)
    for i in ids:
        print(i, x_range(page, i), plot_width(page, i), model_values(page, i, "status", ["text"]))
        screenshot(page, "explore-" + i, i)
    src = read_source(page, ids[0], "traces")
    print({k: (len(v), type(v[0]).__name__ if v else None) for k, v in src.items()}, len(src["xs"][0]))
    s = read_source(page, ids[1], "spectrogram")
    print({k: (len(v)) for k, v in s.items()}, len(s["image"][0]), len(s["image"][0][0]))
    print(page.page_errors)
    print(page.evaluate("document.querySelector('#views').clientWidth"))
    screenshot(page, "explore-page")
