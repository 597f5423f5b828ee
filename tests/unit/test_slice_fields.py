"""Every slice the read models decode names fields of the state it is cut from, so a view
read from a slice is the view read from the whole state."""

from __future__ import annotations

import msgspec

from incidents.domain.state import DemandState
from incidents.projections import slices


def test_every_field_a_slice_keeps_is_a_field_of_its_state_with_the_same_name() -> None:
    # a slice field the state lacks would always take its default: a silent wrong answer
    pairs = [(state, decoder.type) for state, decoder in slices.SLICES.items()]
    for state_type, slice_type in [*pairs, (DemandState, slices.DemandFacts)]:
        state_fields = {f.encode_name: f for f in msgspec.structs.fields(state_type)}
        for field in msgspec.structs.fields(slice_type):
            assert field.encode_name in state_fields, (slice_type, field.name)
            assert field.name == state_fields[field.encode_name].name
            if field.required:
                assert state_fields[field.encode_name].required, (slice_type, field.name)
