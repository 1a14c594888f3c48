"""The timeline over the real corpus (rag.timeline): dates with their precision, order, status, citations."""

from __future__ import annotations

from datetime import date

import pytest

from rag.pipeline import Pipeline
from rag.timeline import DONE, PLANNED, TimelineEntry, build_timeline, filter_timeline, find_dates, passage_anchor

SLOT = "2023-slotverklaring-nederlands-vlaamse-top-den-bosch"


@pytest.fixture(scope="module")
def timeline(pipeline: Pipeline) -> list[TimelineEntry]:
    return build_timeline(pipeline.load().passages)


def test_3rx_ministers_meeting_listed_with_citation(timeline: list[TimelineEntry], pipeline: Pipeline) -> None:
    hits = [e for e in timeline if e.when.value == "2023-06-06" and "3RX" in e.sentence]
    assert len(hits) == 1
    e = hits[0]
    assert e.when.precision == "dag" and e.when.label == "6 juni 2023" and e.when.text == "6 juni 2023"
    assert e.doc_id == SLOT and e.locator.startswith("2.f Infrastructurele verbondenheid")
    assert e.status == PLANNED  # "met het oog op de geplande bijeenkomst van de vakministers"
    ids = {p.id for p in pipeline.load().passages}
    assert e.passage_id in ids and e.anchor == "#" + passage_anchor(e.passage_id)
    assert e.anchor == "#passage-" + e.passage_id.replace("#", "%23").replace("/", "%2F")


def test_season_and_span_keep_their_precision(timeline: list[TimelineEntry]) -> None:
    spring = next(e for e in timeline if e.when.precision == "seizoen" and "Brussel" in e.sentence)
    assert spring.when.value == "2023-21" and spring.when.label == "voorjaar 2023"
    assert (spring.when.start, spring.when.end) == (date(2023, 3, 1), date(2023, 5, 31))
    assert spring.when.text == "in het voorjaar van 2023"
    # the declaration is dated 31 January 2023: a spring meeting can only be a plan, though "heeft ... genomen"
    assert spring.status == PLANNED
    span = next(e for e in timeline if e.when.value == "2023/2024" and e.doc_id == SLOT)
    assert span.when.precision == "periode" and span.when.label == "2023–2024"
    assert span.when.text == "in de loop van 2023-2024"
    assert (span.when.start, span.when.end) == (date(2023, 1, 1), date(2024, 12, 31))


def test_months_years_and_parts_of_a_year(timeline: list[TimelineEntry]) -> None:
    feb = next(e for e in timeline if e.sentence.startswith("We plannen dit verkennende gesprek in februari 2023"))
    assert (feb.when.precision, feb.when.value, feb.status) == ("maand", "2023-02", PLANNED)
    begin = next(e for e in timeline if e.when.label == "begin september 2014")
    assert begin.when.precision == "maand" and begin.when.end == date(2014, 9, 10) and begin.status == DONE
    late = next(e for e in timeline if e.when.label == "eind 2022" and e.doc_id == SLOT)
    assert late.when.precision == "jaar" and late.when.start == date(2022, 9, 1)
    since = next(e for e in timeline if e.sentence.startswith("Sinds 2011 organiseren Nederland"))
    assert since.when.value == "2011" and since.status == DONE


def test_sorted_in_time_and_done_vs_announced(timeline: list[TimelineEntry]) -> None:
    starts = [(e.when.start, e.when.end) for e in timeline]
    assert starts == sorted(starts)
    summit = next(e for e in timeline if e.when.value == "2023-01-31" and e.doc_id == SLOT)
    assert summit.status == DONE  # "Op 31 januari 2023 kwamen Nederland en Vlaanderen ... bijeen"
    seminar = next(e for e in timeline if e.when.value == "2023-03" and e.doc_id == SLOT)
    assert seminar.status == PLANNED  # "In maart 2023 zal een ... kennisseminar ... worden georganiseerd"
    assert {e.status for e in timeline} == {DONE, PLANNED, ""}


def test_bare_day_takes_the_year_of_its_document(timeline: list[TimelineEntry]) -> None:
    e = next(e for e in timeline if e.sentence.startswith("Op 4 november vond de vijfde Vlaams-Nederlandse Top"))
    assert e.when.value == "2020-11-04" and e.when.year_inferred
    # a historical date with its own year is not given the document's year
    assert not [e for e in timeline if e.when.value == "2015-04-19"]
    assert any(e.when.value == "1839-04-19" for e in timeline)


def test_the_clause_with_the_date_decides_the_status() -> None:
    from rag.timeline import statement_status

    sentence = "De top vond plaats op 31 januari 2023; de volgende top zal in 2025 in Gent plaatsvinden."
    first, second = find_dates(sentence)
    assert statement_status(sentence, first, "2023-02-01") == DONE
    assert statement_status(sentence, second, "2023-02-01") == PLANNED
    assert statement_status("In 2011 werd besloten tot een top.", find_dates("In 2011 werd")[0]) == DONE
    assert statement_status("Het verdrag van 1995.", find_dates("Het verdrag van 1995.")[0]) == ""


def test_references_are_not_events() -> None:
    dates = find_dates("In een Protocol van 5 februari 1985 (Trb. 1985, 20) kwam men overeen; prijspeil 2014.")
    assert [w.value for w in dates] == ["1985-02-05"]
    assert [w.value for w in find_dates("Op 5 en 6 juni 2023 en tussen 2020 en 2025.")] == [
        "2023-06-05/2023-06-06", "2020/2025"]
    assert find_dates("Op 4 november vond de top plaats.") == []  # no document date: no year


def test_filter_by_topic_and_document(timeline: list[TimelineEntry]) -> None:
    einstein = filter_timeline(timeline, "Einstein Telescoop")
    assert einstein and all("einstein" in (e.passage_text + e.section_label + e.title).lower() for e in einstein)
    assert {"2023-21", "2023/2024"} <= {e.when.value for e in einstein}
    only_slot = filter_timeline(timeline, doc_ids=[SLOT])
    assert only_slot and {e.doc_id for e in only_slot} == {SLOT}
    assert len(only_slot) < len(timeline)
    planned = filter_timeline(timeline, "3RX", status=PLANNED)
    assert [e.when.value for e in planned] == ["2023-06-06"]
    assert filter_timeline(timeline, "stoofvlees") == []
