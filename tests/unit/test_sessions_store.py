"""Pure parts of the session store: the summary's first user message, tokens used and the S3 keys of a session."""

from services.api.session_store import body_key, first_human_message, images_prefix, session_prefix, total_tokens_used


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
    assert key.startswith(session_prefix("alice@example.com", "s1")) and key.endswith(".json.gz") and "alice" not in key
    assert not body_key("bob", "s1").startswith(session_prefix("alice@example.com", "s1"))


def test_every_write_gets_a_body_key_of_its_own():
    assert len({body_key("alice", "s1") for _ in range(100)}) == 100


def test_images_and_bodies_of_a_session_live_under_prefixes_of_their_own():
    assert images_prefix("alice", "s1") != session_prefix("alice", "s1")
    assert not session_prefix("alice", "s1").startswith(session_prefix("alice", "s"))  # s1/ is not under s/


def test_tokens_used_adds_prompt_and_completion_tokens_of_every_message():
    messages = [{"role": "user", "content": "q"},
                {"role": "assistant", "metadata": {"usage": {"promptTokens": 10, "completionTokens": 5}}},
                {"role": "assistant", "metadata": {"usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}}},
                {"role": "assistant", "metadata": {"usage": {"promptTokens": -4, "completionTokens": "x"}}},
                {"role": "assistant", "metadata": "not an object"}]
    assert total_tokens_used(messages) == 25
