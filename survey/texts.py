"""Every user-facing sentence (citizens and officials), in one catalogue per language."""

from __future__ import annotations

from survey.models import Language

_VI: dict[str, str] = {
    "pick_agency": (
        "Xin chào! Ông/Bà muốn đánh giá cơ quan nào?\n"
        "Chọn bên dưới, hoặc gõ một phần tên cơ quan để tìm."
    ),
    "unknown_agency": "Không tìm thấy cơ quan có mã «{code}». Vui lòng chọn trong danh sách:",
    "no_match": "Không có cơ quan nào có tên chứa «{query}». Vui lòng chọn trong danh sách:",
    "matches": "Các cơ quan có tên chứa «{query}»:",
    "no_agencies": "Chưa có cơ quan nào được cấu hình. Vui lòng báo cho quản trị viên.",
    "consent": (
        "Xin chào! Mời Ông/Bà đánh giá sự phục vụ của {agency}.\n\n"
        "Phiếu khảo sát gồm {count} nhận định, mất khoảng 2–4 phút và hoàn toàn ẩn danh.\n"
        "Người tham gia cần từ 18 tuổi trở lên và đã nhận kết quả giải quyết "
        "thủ tục hành chính.\n\n"
        "Ông/Bà có đồng ý tham gia không?"
    ),
    "agree": "Đồng ý tham gia",
    "decline": "Không tham gia",
    "declined": (
        "Cảm ơn Ông/Bà. Không có thông tin nào được lưu. Khi cần, gõ /start để tham gia."
    ),
    "statement": "Câu {number}/{total} · {element}\n\n{text}\n\nMức độ hài lòng của Ông/Bà?",
    "not_applicable": "Không áp dụng",
    "back": "« Quay lại",
    "skip": "Bỏ qua",
    "optional_choice": "{prompt}",
    "optional_text": "{prompt}\n\nGõ ý kiến của Ông/Bà rồi gửi, hoặc bấm «Bỏ qua».",
    "comment_personal": (
        "Góp ý của Ông/Bà có vẻ có số điện thoại hoặc số CCCD/CMND. Góp ý được cán bộ "
        "cơ quan đọc, nên xin đừng ghi thông tin cá nhân.\n\n"
        "Ông/Bà muốn gửi như vậy, hay sửa lại?"
    ),
    "comment_send": "Gửi như vậy",
    "comment_edit": "Sửa lại",
    "answered": "{text}\n→ {answer}",
    "skipped": "Bỏ qua",
    "thanks": (
        "Cảm ơn Ông/Bà đã dành thời gian đánh giá {agency}! "
        "Ý kiến của Ông/Bà giúp cơ quan phục vụ người dân tốt hơn."
    ),
    "resume": (
        "Ông/Bà đang làm dở phiếu khảo sát về {agency} "
        "(đã trả lời {done}/{total} nhận định). Tiếp tục?"
    ),
    "continue": "Tiếp tục",
    "restart": "Làm lại từ đầu",
    "too_soon": (
        "Ông/Bà đã đánh giá {agency} gần đây. Mỗi người đánh giá một cơ quan "
        "tối đa một lần trong {hours} giờ; Ông/Bà có thể đánh giá lại từ {when}."
    ),
    "hint_consent": "Vui lòng bấm «Đồng ý tham gia» hoặc «Không tham gia».",
    "hint_scale": "Vui lòng bấm một nút bên dưới, hoặc gõ một chữ số từ 1 đến 5.",
    "hint_choice": "Vui lòng bấm một lựa chọn bên dưới, hoặc «Bỏ qua».",
    "hint_text": "Ý kiến quá dài (tối đa {limit} ký tự). Vui lòng rút gọn, hoặc bấm «Bỏ qua».",
    "hint_text_empty": "Tin nhắn không có chữ nào. Vui lòng gõ ý kiến, hoặc bấm «Bỏ qua».",
    "hint_idle": "Gõ /start để bắt đầu đánh giá, /help để xem hướng dẫn.",
    "edited": (
        "Bot không đọc tin nhắn đã sửa; câu trả lời đã ghi giữ nguyên. "
        "Để sửa câu trước, bấm «Quay lại»."
    ),
    "hint_media": "Bot chỉ nhận câu trả lời bằng nút bấm hoặc chữ số 1–5.",
    "stale": "Câu trả lời này đã được ghi nhận trước đó.",
    "refused": "Nút này không còn hiệu lực.",
    "cancelled": "Đã tạm dừng khảo sát. Câu trả lời đã lưu vẫn được giữ; gõ /start để tiếp tục.",
    "nothing_to_cancel": "Hiện không có khảo sát nào đang làm dở.",
    "help": (
        "Bot ghi nhận mức độ hài lòng của người dân đối với sự phục vụ của cơ quan hành chính.\n"
        "/start – bắt đầu hoặc tiếp tục đánh giá\n"
        "/cancel – tạm dừng\n"
        "/lang – đổi ngôn ngữ (Tiếng Việt / English)\n"
        "/forget – xoá dữ liệu của tôi\n"
        "Câu trả lời được lưu ẩn danh."
    ),
    "language_prompt": "Chọn ngôn ngữ / Choose a language:",
    "language_set": "Đã chuyển sang tiếng Việt.",
    "forget_confirm": (
        "Xoá toàn bộ câu trả lời của Ông/Bà khỏi hệ thống? Việc này không thể hoàn tác."
    ),
    "forget_yes": "Xoá dữ liệu của tôi",
    "forget_no": "Không xoá",
    "forgotten": "Đã xoá {count} phiếu trả lời và mọi thông tin về Ông/Bà.",
    "forget_kept": "Dữ liệu của Ông/Bà được giữ nguyên.",
    "error": "Xin lỗi, hệ thống đang gặp sự cố. Vui lòng thử lại sau ít phút hoặc gõ /start.",
    "too_long": "Tin nhắn quá dài.",
    "more": "Trang sau »",
    "previous": "« Trang trước",
    "visit_link": (
        "Liên kết đánh giá một lần cho {agency} (hết hạn {expires}):\n{link}\n"
        "Đưa cho người dân quét hoặc mở liên kết này."
    ),
    "visit_required": (
        "{agency} nhận đánh giá theo từng lượt giao dịch. Vui lòng quét mã QR "
        "cán bộ đưa cho Ông/Bà tại quầy."
    ),
    "visit_used": "Mã QR này đã được dùng cho một lượt đánh giá khác. Cảm ơn Ông/Bà.",
    "visit_expired": "Mã QR này đã hết hạn. Vui lòng xin mã mới tại quầy.",
    "visit_tampered": "Mã QR này không hợp lệ. Vui lòng quét lại mã tại quầy.",
    "visit_malformed": "Mã QR này không hợp lệ. Vui lòng quét lại mã tại quầy.",
    "visit_link_typed": (
        "Mã đánh giá một lần cho {agency} (hết hạn {expires}). Người dân gửi cho bot "
        "đúng dòng sau:\n{link}"
    ),
    "visit_required_typed": (
        "{agency} nhận đánh giá theo từng lượt giao dịch. Vui lòng gửi mã đánh giá "
        "cán bộ đưa cho Ông/Bà tại quầy."
    ),
    "visit_used_typed": "Mã này đã được dùng cho một lượt đánh giá khác. Cảm ơn Ông/Bà.",
    "visit_expired_typed": "Mã này đã hết hạn. Vui lòng xin mã mới tại quầy.",
    "visit_tampered_typed": "Mã này không hợp lệ. Vui lòng kiểm tra lại mã cán bộ đưa.",
    "visit_malformed_typed": "Mã này không hợp lệ. Vui lòng kiểm tra lại mã cán bộ đưa.",
    "official_only": (
        "Lệnh này chỉ dành cho cán bộ được cấp quyền. Nếu có mã mời, gửi /register MÃ."
    ),
    "admin_only": "Chỉ quản trị viên mới tạo được mã mời.",
    "not_in_scope": "Cơ quan «{code}» không thuộc phạm vi được giao cho Ông/Bà.",
    "group_not_in_scope": "Nhóm «{group}» không có cơ quan nào thuộc phạm vi của Ông/Bà.",
    "bad_period": (
        "«{word}» không phải mã cơ quan trong phạm vi của Ông/Bà, cũng không phải kỳ hợp lệ."
    ),
    "period_help": (
        "Kỳ hợp lệ: week, month, quarter, year, 2026-10, 2026-Q3, 2026, 2026-10-01..2026-10-31."
    ),
    "command_example": "Ví dụ: /{command} {agency} 2026-10",
    "invite_created": (
        "Mã mời: {code}\nPhạm vi: {agencies}\nHết hạn: {expires}\n"
        "Cán bộ mở bot và gửi: /register {code}"
    ),
    "invite_needs_agency": (
        "Ghi rõ cơ quan, ví dụ: /invite {agency} (hoặc /invite * cho mọi cơ quan)."
    ),
    "invite_out_of_scope": (
        "Ông/Bà chỉ mời được cán bộ cho cơ quan trong phạm vi của mình ({agencies}). "
        "Mã mời chưa được tạo."
    ),
    "registered": "Đăng ký thành công. Ông/Bà xem được: {agencies}. Gõ /score để xem chỉ số.",
    "register_failed": "Mã mời không hợp lệ, đã được dùng hoặc đã hết hạn.",
    "register_throttled": (
        "Ông/Bà đã nhập sai mã mời quá nhiều lần. Vui lòng thử lại sau một giờ "
        "hoặc xin mã mới từ quản trị viên."
    ),
    "register_usage": "Gửi /register kèm mã mời, ví dụ: /register ABCD-EFGH",
    "subscribed": "Đã đăng ký nhận bản tin tuần (sáng thứ Hai). Gõ /unsubscribe để huỷ.",
    "already_subscribed": "Ông/Bà đã đăng ký nhận bản tin tuần rồi.",
    "unsubscribed": "Đã huỷ nhận bản tin tuần.",
    "not_subscribed": "Ông/Bà chưa đăng ký nhận bản tin tuần.",
    "export_ready": "Dữ liệu {period}: {count} cơ quan.",
    "all_agencies": "tất cả cơ quan",
    "no_agency_in_scope": "Ông/Bà chưa được giao cơ quan nào.",
    # Text-only channels (Zalo, the terminal): choices are numbered lines, answered by typing.
    "pick_agency_typed": (
        "Xin chào! Ông/Bà muốn đánh giá cơ quan nào?\n"
        "Gõ số của cơ quan, hoặc gõ mã hay một phần tên cơ quan để tìm."
    ),
    "optional_text_typed": "{prompt}\n\nGõ ý kiến của Ông/Bà rồi gửi.",
    "hint_consent_typed": "Vui lòng gõ 1 để đồng ý tham gia, hoặc 2 để không tham gia.",
    "hint_scale_typed": "Vui lòng gõ một chữ số từ 1 đến 5.",
    "hint_choice_typed": "Vui lòng gõ số của một lựa chọn, hoặc «bỏ qua».",
    "hint_text_typed": (
        "Ý kiến quá dài (tối đa {limit} ký tự). Vui lòng rút gọn, hoặc gõ «bỏ qua»."
    ),
    "hint_text_empty_typed": "Tin nhắn không có chữ nào. Vui lòng gõ ý kiến, hoặc gõ «bỏ qua».",
    "hint_media_typed": "Bot chỉ đọc tin nhắn chữ. Vui lòng gõ số của lựa chọn.",
    "hint_number": "Không có lựa chọn số {number}. Vui lòng gõ một số trong danh sách.",
    "refused_typed": "Lựa chọn này không còn hiệu lực.",
    "help_typed": (
        "Bot ghi nhận mức độ hài lòng của người dân đối với sự phục vụ của cơ quan hành chính.\n"
        "Trả lời bằng cách gõ số của lựa chọn.\n"
        "/start MÃ – bắt đầu đánh giá cơ quan có mã đó (mã in trên áp phích QR)\n"
        "/start – tiếp tục, hoặc chọn cơ quan\n"
        "quay lại – sửa câu trước · bỏ qua – bỏ qua câu không bắt buộc · hủy – tạm dừng\n"
        "/lang – đổi ngôn ngữ (Tiếng Việt / English)\n"
        "/forget – xoá dữ liệu của tôi\n"
        "Câu trả lời được lưu ẩn danh."
    ),
    "numbered_scale": "👉 Gõ một số từ 1 đến 5.",
    "numbered_scale_na": "👉 Gõ một số từ 1 đến 5 (0 nếu không áp dụng).",
    "numbered_choice": "👉 Gõ số của lựa chọn.",
    "numbered_back": "Gõ «quay lại» để sửa câu trước.",
    "numbered_help": "Hướng dẫn",
    "oa_scale_hint": "👉 Bấm một nút bên dưới, hoặc gõ số từ 1 đến 5.",
    "oa_unavailable": (
        "Xin lỗi, kênh Zalo này tạm thời gián đoạn. Câu trả lời của bạn chưa được ghi; "
        "vui lòng thử lại sau."
    ),
    "export_elsewhere": (
        "Kênh này không gửi được tệp. Dùng lệnh /export trên Telegram, hoặc trên máy chủ: "
        "python -m bot export --period {period} --out bao-cao.xlsx"
    ),
    "web_title": "Đánh giá sự phục vụ – {agency}",
    "web_intro": (
        "Mời Ông/Bà đánh giá sự phục vụ của {agency}. Phiếu ẩn danh, mất khoảng 2–4 phút."
    ),
    "web_start": "Bắt đầu đánh giá",
    "web_language": "Ngôn ngữ",
    "web_send": "Gửi",
    "web_comment_label": "Ý kiến của Ông/Bà",
    "web_cookie_note": (
        "Trang dùng một cookie để giữ tiến độ phiếu của Ông/Bà; không lưu thông tin cá nhân."
    ),
    "web_again": "Về trang đầu",
    "web_form_refused": (
        "Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang rồi thử lại."
    ),
    "web_too_many": "Có quá nhiều yêu cầu từ địa chỉ này. Vui lòng thử lại sau một phút.",
    "web_too_large": "Nội dung gửi lên quá lớn.",
    "web_not_found": "Không tìm thấy trang này.",
    "web_link_refused": (
        "Liên kết này đã hết hạn hoặc không hợp lệ. Vui lòng gửi /report để nhận liên kết mới."
    ),
    "web_public_note": (
        "Kết quả khảo sát ý kiến người dân quý này ({start} – {end}). Cảm ơn Ông/Bà đã tham gia."
    ),
    "report_link": (
        "Báo cáo chỉ số hài lòng ({period}), mở trong trình duyệt, hiệu lực 24 giờ:\n{link}"
    ),
    "report_off": (
        "Trang web của bot chưa được bật ([web] public_url). Dùng /score, hoặc trên máy chủ: "
        "python -m bot report --html --out baocao.html"
    ),
    "report_heading": "Báo cáo chỉ số hài lòng (SIPAS)",
    "report_suppressed": "Chưa đủ phiếu để tính chỉ số (n={n}; cần ít nhất {min}).",
    "report_elements": "Năm yếu tố",
    "report_criteria": "Các tiêu chí",
    "report_trend": "Xu hướng theo {unit}",
    "report_week": "tuần",
    "report_month": "tháng",
    "report_ranking": "Xếp hạng các cơ quan",
    "report_value": "Chỉ số",
    "report_interval": "KTC 95%",
    "report_method": (
        "Phương pháp: chỉ số của một tiêu chí là tỷ lệ câu trả lời 4–5 («hài lòng», «rất hài "
        "lòng») trong các câu trả lời hợp lệ («không áp dụng» không tính); chỉ số yếu tố là "
        "trung bình các tiêu chí của yếu tố; SIPAS là trung bình có trọng số các yếu tố. "
        "Khoảng tin cậy 95%: Wilson cho tiêu chí, phương sai theo người trả lời cho yếu tố và "
        "SIPAS. Không tính chỉ số khi có ít hơn {min} phiếu. Số liệu giống hệt "
        "python -m bot report --json."
    ),
}

_EN: dict[str, str] = {
    "pick_agency": (
        "Hello! Which agency would you like to rate?\n"
        "Choose below, or type part of the agency's name to search."
    ),
    "unknown_agency": "No agency has the code “{code}”. Please choose from the list:",
    "no_match": "No agency name contains “{query}”. Please choose from the list:",
    "matches": "Agencies whose name contains “{query}”:",
    "no_agencies": "No agency is configured yet. Please tell the administrator.",
    "consent": (
        "Hello! Please rate the service you received from {agency}.\n\n"
        "The survey has {count} statements, takes 2–4 minutes and is anonymous.\n"
        "Participants must be 18 or older and have received the result of their procedure.\n\n"
        "Do you agree to take part?"
    ),
    "agree": "I agree to take part",
    "decline": "No, thanks",
    "declined": "Thank you. Nothing was stored. Type /start whenever you want to take part.",
    "statement": "Question {number}/{total} · {element}\n\n{text}\n\nHow satisfied are you?",
    "not_applicable": "Not applicable",
    "back": "« Back",
    "skip": "Skip",
    "optional_choice": "{prompt}",
    "optional_text": "{prompt}\n\nType your comment and send it, or press “Skip”.",
    "comment_personal": (
        "Your comment seems to contain a phone number or an ID-card number. Comments are read "
        "by the agency's staff, so please leave out personal details.\n\n"
        "Send it as it is, or edit it?"
    ),
    "comment_send": "Send as is",
    "comment_edit": "Edit",
    "answered": "{text}\n→ {answer}",
    "skipped": "Skipped",
    "thanks": (
        "Thank you for taking the time to rate {agency}! "
        "Your answers help the agency serve citizens better."
    ),
    "resume": (
        "You have an unfinished survey about {agency} ({done}/{total} statements answered). "
        "Continue?"
    ),
    "continue": "Continue",
    "restart": "Start over",
    "too_soon": (
        "You rated {agency} recently. Each person may rate an agency once every {hours} hours; "
        "you can rate it again from {when}."
    ),
    "hint_consent": "Please press “I agree to take part” or “No, thanks”.",
    "hint_scale": "Please press a button below, or type a digit from 1 to 5.",
    "hint_choice": "Please press one of the options below, or “Skip”.",
    "hint_text": (
        "That comment is too long (at most {limit} characters). Shorten it, or press “Skip”."
    ),
    "hint_text_empty": "That message has no visible text. Type your comment, or press “Skip”.",
    "hint_idle": "Type /start to rate an agency, /help for help.",
    "edited": (
        "Edited messages are not read; the recorded answer stands. "
        "To change the previous answer, press “Back”."
    ),
    "hint_media": "The bot only takes answers as button presses or the digits 1–5.",
    "stale": "This answer was already recorded.",
    "refused": "This button is no longer valid.",
    "cancelled": "Survey paused. Your saved answers are kept; type /start to continue.",
    "nothing_to_cancel": "You have no unfinished survey.",
    "help": (
        "This bot records citizens' satisfaction with public administrative services.\n"
        "/start – start or continue a rating\n"
        "/cancel – pause\n"
        "/lang – change language (Tiếng Việt / English)\n"
        "/forget – delete my data\n"
        "Answers are stored anonymously."
    ),
    "language_prompt": "Chọn ngôn ngữ / Choose a language:",
    "language_set": "Language set to English.",
    "forget_confirm": "Delete all your answers from the system? This cannot be undone.",
    "forget_yes": "Delete my data",
    "forget_no": "Keep it",
    "forgotten": "Deleted {count} responses and everything about you.",
    "forget_kept": "Your data is kept.",
    "error": "Sorry, something went wrong. Please try again in a few minutes, or type /start.",
    "too_long": "That message is too long.",
    "more": "Next page »",
    "previous": "« Previous page",
    "visit_link": (
        "Single-use rating link for {agency} (expires {expires}):\n{link}\n"
        "Let the citizen scan or open it."
    ),
    "visit_required": (
        "{agency} takes ratings per visit. Please scan the QR code the officer gives you "
        "at the counter."
    ),
    "visit_used": "This QR code was already used for another rating. Thank you.",
    "visit_expired": "This QR code has expired. Please ask for a new one at the counter.",
    "visit_tampered": "This QR code is not valid. Please scan the code at the counter again.",
    "visit_malformed": "This QR code is not valid. Please scan the code at the counter again.",
    "visit_link_typed": (
        "Single-use rating code for {agency} (expires {expires}). The citizen sends the bot "
        "exactly this line:\n{link}"
    ),
    "visit_required_typed": (
        "{agency} takes ratings per visit. Please send the rating code the officer gives you "
        "at the counter."
    ),
    "visit_used_typed": "This code was already used for another rating. Thank you.",
    "visit_expired_typed": "This code has expired. Please ask for a new one at the counter.",
    "visit_tampered_typed": "This code is not valid. Please check the code you were given.",
    "visit_malformed_typed": "This code is not valid. Please check the code you were given.",
    "official_only": (
        "This command is for registered officials. With an invite code, send /register CODE."
    ),
    "admin_only": "Only an administrator can create invite codes.",
    "not_in_scope": "The agency “{code}” is not in your scope.",
    "group_not_in_scope": "The group “{group}” has no agency in your scope.",
    "bad_period": "“{word}” is neither an agency code in your scope nor a valid period.",
    "period_help": (
        "Valid periods: week, month, quarter, year, 2026-10, 2026-Q3, 2026, "
        "2026-10-01..2026-10-31."
    ),
    "command_example": "Example: /{command} {agency} 2026-10",
    "invite_created": (
        "Invite code: {code}\nScope: {agencies}\nExpires: {expires}\n"
        "The official opens the bot and sends: /register {code}"
    ),
    "invite_needs_agency": "Name the agencies, e.g. /invite {agency} (or /invite * for all).",
    "invite_out_of_scope": (
        "You can only invite officials for agencies in your own scope ({agencies}). "
        "No invite code was created."
    ),
    "registered": "Registered. You can see: {agencies}. Type /score to see the index.",
    "register_failed": "That invite code is invalid, already used or expired.",
    "register_throttled": (
        "Too many wrong invite codes. Please try again in an hour, "
        "or ask your administrator for a new code."
    ),
    "register_usage": "Send /register with your invite code, e.g. /register ABCD-EFGH",
    "subscribed": "Subscribed to the weekly digest (Monday mornings). Type /unsubscribe to stop.",
    "already_subscribed": "You are already subscribed to the weekly digest.",
    "unsubscribed": "Unsubscribed from the weekly digest.",
    "not_subscribed": "You are not subscribed to the weekly digest.",
    "export_ready": "Data for {period}: {count} agencies.",
    "all_agencies": "all agencies",
    "no_agency_in_scope": "No agency has been assigned to you yet.",
    "pick_agency_typed": (
        "Hello! Which agency would you like to rate?\n"
        "Type the agency's number, or its code or part of its name to search."
    ),
    "optional_text_typed": "{prompt}\n\nType your comment and send it.",
    "hint_consent_typed": "Please type 1 to take part, or 2 if you do not want to.",
    "hint_scale_typed": "Please type a digit from 1 to 5.",
    "hint_choice_typed": "Please type the number of an option, or “skip”.",
    "hint_text_typed": (
        "That comment is too long (at most {limit} characters). Shorten it, or type “skip”."
    ),
    "hint_text_empty_typed": "That message has no visible text. Type your comment, or “skip”.",
    "hint_media_typed": "The bot reads text messages only. Please type the number of your choice.",
    "hint_number": "There is no choice number {number}. Please type a number from the list.",
    "refused_typed": "That choice is no longer valid.",
    "help_typed": (
        "This bot records how satisfied citizens are with public administration services.\n"
        "Answer by typing the number of your choice.\n"
        "/start CODE – rate the agency with that code (printed on its QR poster)\n"
        "/start – continue, or choose an agency\n"
        "back – change the previous answer · skip – skip an optional question · cancel – pause\n"
        "/lang – change language (Tiếng Việt / English)\n"
        "/forget – delete my data\n"
        "Answers are stored anonymously."
    ),
    "numbered_scale": "👉 Type a number from 1 to 5.",
    "numbered_scale_na": "👉 Type a number from 1 to 5 (0 if it does not apply).",
    "numbered_choice": "👉 Type the number of your choice.",
    "numbered_back": "Type “back” to change the previous answer.",
    "numbered_help": "Help",
    "oa_scale_hint": "👉 Tap a button below, or type a number from 1 to 5.",
    "oa_unavailable": (
        "Sorry, this Zalo channel is temporarily unavailable. Your answer was not recorded; "
        "please try again later."
    ),
    "export_elsewhere": (
        "This channel cannot send files. Use /export on Telegram, or on the server: "
        "python -m bot export --period {period} --out report.xlsx"
    ),
    "web_title": "Rate the service – {agency}",
    "web_intro": "Please rate the service of {agency}. Anonymous; it takes about 2–4 minutes.",
    "web_start": "Start",
    "web_language": "Language",
    "web_send": "Send",
    "web_comment_label": "Your comment",
    "web_cookie_note": (
        "This page keeps your progress in one cookie; it stores nothing about who you are."
    ),
    "web_again": "Back to the start",
    "web_form_refused": (
        "This form has expired or is not valid. Please reload the page and try again."
    ),
    "web_too_many": "Too many requests from this address. Please try again in a minute.",
    "web_too_large": "What was sent is too large.",
    "web_not_found": "There is no such page.",
    "web_link_refused": "This link has expired or is not valid. Send /report for a new one.",
    "web_public_note": (
        "What citizens said this quarter ({start} – {end}). Thank you for taking part."
    ),
    "report_link": "Satisfaction report ({period}), opens in a browser, valid 24 hours:\n{link}",
    "report_off": (
        "The bot's web page is off ([web] public_url). Use /score, or on the server: "
        "python -m bot report --html --out report.html"
    ),
    "report_heading": "Satisfaction index (SIPAS) report",
    "report_suppressed": "Not enough responses (n={n}; at least {min} needed).",
    "report_elements": "The five elements",
    "report_criteria": "Criteria",
    "report_trend": "Trend by {unit}",
    "report_week": "week",
    "report_month": "month",
    "report_ranking": "Ranking of the agencies",
    "report_value": "Index",
    "report_interval": "95% CI",
    "report_method": (
        "Method: a criterion's index is the share of valid answers that are 4–5 (satisfied, "
        'very satisfied; "not applicable" left out); an element\'s index is the mean of its '
        "criteria; SIPAS is the weighted mean of the elements. 95% intervals: Wilson for "
        "criteria, respondent-clustered variance for elements and SIPAS. No index is computed "
        "below {min} responses. The figures are those of python -m bot report --json."
    ),
}

_CATALOGUE: dict[Language, dict[str, str]] = {"vi": _VI, "en": _EN}


def say(language: Language, key: str, *, typed: bool = False, **values: object) -> str:
    """The sentence `key` in `language`, with `values` filled in.

    `typed`: the citizen answers by typing numbers (no buttons); a `<key>_typed` wording is
    used where the sentence would otherwise speak of pressing.
    """
    catalogue = _CATALOGUE[language]
    chosen = f"{key}_typed" if typed and f"{key}_typed" in catalogue else key
    return catalogue[chosen].format(**values)


def keys(language: Language) -> frozenset[str]:
    return frozenset(_CATALOGUE[language])
