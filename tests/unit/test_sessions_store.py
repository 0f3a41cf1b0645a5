"""Pure parts of the session store: the summary's first user message and the S3 key of an offloaded session."""

from services.api.session_store import body_key, first_human_message


def test_the_first_user_message_is_found_by_role_or_lisa_type():
    assert first_human_message([{"role": "system", "content": "rules"}, {"role": "user", "content": "hello"}]) == "hello"
    assert first_human_message([{"type": "ai", "content": "hi"}, {"type": "human", "content": "question"}]) == "question"


def test_content_parts_count_as_text_and_blank_messages_are_skipped():
    messages = [{"role": "user", "content": "  "}, {"role": "user", "content": [{"type": "text", "text": "parts"}]}]
    assert first_human_message(messages) == "parts"


def test_the_summary_message_is_cut_to_200_characters():
    assert len(first_human_message([{"role": "user", "content": "x" * 1000}])) == 200


def test_offloaded_bodies_are_keyed_by_a_hash_of_the_owner():
    key = body_key("alice@example.com", "s1")
    assert key.startswith("sessions/") and key.endswith("/s1.json.gz") and "alice" not in key
    assert body_key("bob", "s1") != key
