"""The worker's half of a second visit: what it keeps of an open remote file as the user browses.

After the tree of a remote file shows, ``viewer_worker`` hands the open here (``KeptFile``).
It keeps, in the Cache API, beside the tree the page draws before Python is up:
- the browse record (``nwbscope.kept_browse``): every children and details answer of this
  visit, the last visit's answers for the same unchanged file, and on a first visit the
  details of the top-level objects and one level below, read ahead in the background;
- the file's blocks those answers read (``sources.browser.save_metadata``), so that when
  Python comes up on the next visit and answers the same questions again, it reads nothing.
  Only blocks read by opening and browsing are kept, never those a view read (they would push
  the metadata out of the kept budget).

Every save runs after the answer has gone; a burst of answers gives one save. A newer open
(``generation``) stops the read-ahead and the saves of an older one.
"""

import asyncio
import json
import traceback

READ_AHEAD_DETAILS = 40  # details read ahead in all (top level first, then one level down)
READ_AHEAD_PREVIEW_BYTES = 64 << 10  # their previews decode little: Python redoes them


class KeptFile:
    """One open remote file's kept entry: tree, browse record and browsed blocks."""

    def __init__(self, url, opened, source, reply, generation, worker):
        """``worker`` gives ``current()`` (the worker's open generation now), ``session()``
        (the open ViewerSession) and ``answer(**fields)`` (its JSON reply maker, numpy values
        made plain, so kept answers are what the page gets)."""
        shown = {key: value for key, value in json.loads(reply).items() if key != "stats"}
        self.url, self.opened, self.source = url, opened, source
        self.entry = {"stamp": opened.stamp, "final_url": opened.url, "reply": shown}
        self.generation, self.worker = generation, worker
        self.answer = worker.answer
        self.record = None  # the BrowseRecord, once the last visit's is read
        self.opening = set(source.export_blocks()[1])  # block numbers the open read
        self.blocks = set(self.opening)  # and those browsing read since
        self.blocks_saved = 0
        self.pending = None

    def live(self):
        return self.generation == self.worker.current()

    async def start(self, save_blocks):
        """The first save (tree, the last visit's record, the blocks when ``save_blocks``),
        then, on a first visit, the read-ahead."""
        from nwbscope.kept_browse import BrowseRecord
        from nwbscope.sources.browser import load_tree
        from nwbscope.sources.probe import same_file

        if not save_blocks:  # the kept blocks served this open: they stand
            self.blocks_saved = len(self.blocks)
        try:
            previous = await load_tree(self.url)
            same = previous is not None and same_file(previous.get("stamp"),
                                                      self.entry["stamp"])
            self.record = BrowseRecord.from_json(previous.get("browse") if same else None)
            await self._save(blocks=save_blocks)
        except Exception:  # noqa: BLE001 - quota, private mode: the next open reads again
            traceback.print_exc()
            return
        if not self.record.details:  # a first visit: later ones add only what is opened
            await self.read_ahead(self.entry["reply"].get("tree") or [])

    def browsed(self, kind, path, reply_json, blocks_before):
        """Record one children/details answer and the blocks it read; save soon after."""
        if self.record is None or not self.live():
            return
        reply = json.loads(reply_json)
        if not reply.get("ok"):
            return
        if kind == "children":
            self.record.add_children(path, reply["children"])
        else:
            self.record.add_details(path, reply["details"])
        self.blocks |= self.block_numbers() - blocks_before
        self.save_soon()

    def block_numbers(self):
        return set(self.source.export_blocks()[1])

    def save_soon(self, delay_s=0.5):
        if self.pending is not None and not self.pending.done():
            return

        async def later():
            await asyncio.sleep(delay_s)
            if not self.live() or not self.record.changed:
                return
            try:
                await self._save(blocks=len(self.blocks) > self.blocks_saved)
            except Exception:  # noqa: BLE001 - nothing is lost but speed
                traceback.print_exc()

        self.pending = asyncio.ensure_future(later())

    async def _save(self, blocks):
        from nwbscope.sources.browser import save_metadata, save_tree

        self.record.changed = False
        saves = [save_tree(self.url, dict(self.entry, browse=self.record.to_json()))]
        if blocks:
            from nwbscope.kept_browse import blocks_to_keep

            block_size, held = self.source.export_blocks()
            browsed = blocks_to_keep(held, self.opening, self.blocks)
            self.blocks_saved = len(self.blocks)
            saves.append(save_metadata(self.opened.url, self.opened.stamp, block_size, browsed))
        # both at once: a reload right after the tree shows may cut the saving short
        await asyncio.gather(*saves)

    def _details_ahead(self, session, path):
        """Details with a small preview, marked so: the page shows them at once on the next
        visit and lets Python answer again once it is up."""
        before = self.block_numbers()
        details = json.loads(self.answer(details=session.details(
            path, READ_AHEAD_PREVIEW_BYTES)))["details"]
        self.blocks |= self.block_numbers() - before
        return dict(details, kept_as="read-ahead")

    async def read_ahead(self, rows):
        """Details of the top-level objects and the children of the top-level groups, then
        the details of those children while the budget lasts: what a returning user clicks
        first. One object at a time, yielding between them, so the page's own calls never
        wait long."""
        from render import has_children  # the page's rule of which rows open

        session, budget, below = self.worker.session(), READ_AHEAD_DETAILS, []
        for row in rows:
            path = row.get("path")
            if not self.live() or budget <= 0 or not path:
                break
            try:
                if not self.record.has_details(path):
                    self.record.add_details(path, self._details_ahead(session, path))
                    budget -= 1
                if has_children(row) and path not in self.record.children:
                    before = self.block_numbers()
                    rows_below = json.loads(self.answer(
                        children=session.children(path)))["children"]
                    self.blocks |= self.block_numbers() - before
                    self.record.add_children(path, rows_below)
                    below += [r.get("path") for r in rows_below if r.get("path")]
            except Exception as exc:  # noqa: BLE001 - a bad object is simply not kept
                print("read-ahead of", path, "skipped:", exc)
            await asyncio.sleep(0)
        for path in below:
            if not self.live() or budget <= 0:
                break
            if self.record.has_details(path):
                continue
            try:
                self.record.add_details(path, self._details_ahead(session, path))
                budget -= 1
            except Exception as exc:  # noqa: BLE001
                print("read-ahead of", path, "skipped:", exc)
            await asyncio.sleep(0)
        if self.live() and self.record.changed:
            self.save_soon(delay_s=0.0)
